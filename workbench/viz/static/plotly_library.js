// The one plotly.js per page, shared by every dashboard. Each dashboard's module
// awaits `globalThis.__workbench_plotly__.promise`; this module resolves it when
// the library widget's model initializes (it is never displayed).

function plotlySlot() {
  let slot = globalThis.__workbench_plotly__;
  if (!slot) {
    let resolve;
    const promise = new Promise((r) => { resolve = r; });
    slot = globalThis.__workbench_plotly__ = { promise, resolve, Plotly: null };
  }
  return slot;
}

// The bundle is a UMD script that would also register itself with an AMD loader
// (`define`, present in the classic notebook) and assign `window.Plotly`. Shadow
// `define`, hand it a CommonJS `module` to fill, and put back any Plotly global
// another extension owns.
const ownPlotly = Object.getOwnPropertyDescriptor(globalThis, "Plotly");
const ownModuleName = Object.getOwnPropertyDescriptor(globalThis, "moduleName");
const captured = { exports: {} };
(function (module, exports, define) {
/*__PLOTLY_BUNDLE__*/
}).call(globalThis, captured, captured.exports, undefined);
for (const [name, own] of [["Plotly", ownPlotly], ["moduleName", ownModuleName]]) {
  if (own) Object.defineProperty(globalThis, name, own);
  else delete globalThis[name];
}
const Plotly = captured.exports;

function publish() {
  const slot = plotlySlot();
  if (!slot.Plotly) {
    slot.Plotly = Plotly;
    slot.resolve(Plotly);
  }
}

export default { initialize: publish };
