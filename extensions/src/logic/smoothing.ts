/**
 * TensorBoard's scalar smoothing: a debiased exponential moving average.
 *
 * The average starts at 0, so it is divided by 1 - w^n (n = finite values
 * seen so far) to keep the first points from being pulled towards 0. Values
 * that are not finite (null, NaN, infinities) stay gaps in the output and do
 * not enter the average. It matches `workbench.viz.smoothing.ema_debiased`.
 */

/**
 * Smooth `values` with weight `weight` in [0, 1); 0 returns the values as they are.
 *
 * @example
 * emaDebiased([1, 2, 3], 0.5); // [1, 1.6667, 2.4286] (rounded)
 */
export function emaDebiased(
  values: ReadonlyArray<number | null>,
  weight: number
): Array<number | null> {
  const w = Number.isFinite(weight) ? Math.min(Math.max(weight, 0), 1) : 0;
  if (w === 0) {
    return values.slice();
  }
  const out: Array<number | null> = [];
  let last = 0;
  let seen = 0;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) {
      out.push(v);
      continue;
    }
    last = last * w + (1 - w) * v;
    seen += 1;
    out.push(w === 1 ? last : last / (1 - Math.pow(w, seen)));
  }
  return out;
}

/**
 * A weight the smoothing slider can show: 0 to 0.99 (1 would flatten the
 * curve to its first value), 0 when unreadable.
 */
export function clampWeight(weight: number): number {
  return Number.isFinite(weight) ? Math.min(Math.max(weight, 0), 0.99) : 0;
}
