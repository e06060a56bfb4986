// TensorBoard's scalar smoothing: an exponential moving average started at 0 and
// divided by 1 - weight^k (k = finite values so far). Non-finite values pass through
// and do not enter the average; a constant series is returned as it is.
// `workbench.viz.ema_debiased` computes the same in Python.
export function emaDebiased(values, weight) {
  if (!Number.isFinite(weight)) weight = 0;
  weight = Math.max(0, Math.min(weight, 1));
  const out = Array.from(values);
  if (out.length === 0 || out.every((v) => v === out[0])) return out;
  let last = 0;
  let seen = 0;
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (!Number.isFinite(v)) continue;
    last = last * weight + (1 - weight) * v;
    seen += 1;
    out[i] = last / (weight === 1 ? 1 : 1 - Math.pow(weight, seen));
  }
  return out;
}
