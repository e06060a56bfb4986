// What every widget script starts from: loading the shared plotly library, and building DOM nodes.

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

// A widget whose kernel side may send the library's source (see waitForPlotly) loads it when it comes.
function listenForPlotlySource(model) {
  model.on("msg:custom", (msg, buffers) => {
    if (msg.type === "plotly_source") {
      loadPlotlySource(buffers && buffers[0]).catch((e) => console.error("[workbench] plotly:", e));
    }
  });
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
