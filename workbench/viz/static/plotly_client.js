// Loading the shared plotly library: the dashboard and the run comparison both start from here.

function plotlySlot() {
  let slot = globalThis.__workbench_plotly__;
  if (!slot) {
    let resolve;
    const promise = new Promise((r) => { resolve = r; });
    slot = globalThis.__workbench_plotly__ = { promise, resolve, Plotly: null };
  }
  return slot;
}

function send(model, content) {
  try { model.send(content); } catch (_) { /* no kernel: a saved notebook opened offline */ }
}

// Where the library widget's module never ran in this page (an output frame of its own),
// ask the kernel for the library's source after a while and load it here.
async function waitForPlotly(model) {
  const slot = plotlySlot();
  if (slot.Plotly) return slot.Plotly;
  const timer = setTimeout(() => send(model, { type: "plotly" }), 3000);
  try { return await slot.promise; } finally { clearTimeout(timer); }
}

async function loadPlotlySource(buffer) {
  if (plotlySlot().Plotly || !buffer) return;
  const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer)
    : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const url = URL.createObjectURL(new Blob([new TextDecoder().decode(bytes)], { type: "text/javascript" }));
  try { (await import(/* webpackIgnore: true */ url)).default.initialize(); } finally { URL.revokeObjectURL(url); }
}
