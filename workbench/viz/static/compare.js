// RunComparison's view. Joined after series_store.js into one module (decodeSnapshot and
// decodeEntries come from it): the `_curves` trait holds every run's epoch curves in that wire
// format, one entry per run, split and metric. plotly comes from the shared PlotlyLibrary widget
// through globalThis.__workbench_plotly__. plotly's basic bundle has no parallel coordinates, so
// they are plain SVG drawn here from the `parallel` trait.

const SVG_NS = "http://www.w3.org/2000/svg";
// viridis at five stops: low metric values dark, high ones yellow.
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const MISSING_COLOR = "#aaa";
let gradients = 0; // unique ids for the SVG gradients of several views on one page


function initialize({ model }) {
  listenForPlotlySource(model);
}

// ---------------------------------------------------------------- formatting

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmt(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "boolean") return value ? "True" : "False"; // as Python writes them, and the axes
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  return String(value);
}

function isRate(name) {
  return name === "lr" || name.includes("learning_rate");
}

function metricOrder(a, b) {
  const rank = (n) => (n === "loss" ? 0 : isRate(n) ? 2 : 1);
  return rank(a) - rank(b) || a.localeCompare(b);
}

export function viridis(t) {
  if (t === null || t === undefined || !Number.isFinite(t)) return MISSING_COLOR;
  const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const f = x - i;
  const c = VIRIDIS[i].map((v, k) => Math.round(v + (VIRIDIS[i + 1][k] - v) * f));
  return `rgb(${c.join(",")})`;
}

// Runs of consecutive known positions: a line breaks where a run has no value on an axis.
export function segments(positions) {
  const out = [];
  let current = [];
  positions.forEach((p, axis) => {
    if (p === null || p === undefined) {
      if (current.length) out.push(current);
      current = [];
    } else {
      current.push([axis, p]);
    }
  });
  if (current.length) out.push(current);
  return out;
}

// ---------------------------------------------------------------- curves

function curveTraces(items, rows, colors, xAxis) {
  return items.map(({ entry, step, epoch, values }) => {
    const id = (rows[entry.run] || {}).id ?? `run ${entry.run}`;
    const x = xAxis === "step" ? step : epoch.map((e) => e + 1); // epochs counted from 1, as fit prints them
    const y = values[0].map((v) => (Number.isFinite(v) ? v : null));
    return {
      x, y, type: "scatter", mode: y.length > 40 ? "lines" : "lines+markers", name: `${id} ${entry.split}`,
      legendgroup: String(entry.run), showlegend: false, marker: { size: 4 },
      line: { color: colors[entry.run] || "#444", width: 1.6, dash: entry.split === "val" ? "dash" : "solid" },
      hovertemplate: `${id} · ${entry.split}<br>${xAxis} %{x}: %{y:.4g}<extra></extra>`,
    };
  });
}

function chartLayout(title, xAxis, theme) {
  const axis = { gridcolor: theme.grid, zerolinecolor: theme.grid, automargin: true };
  return {
    height: 250, title: { text: title, font: { size: 12 }, x: 0.01, xanchor: "left", y: 0.98, yanchor: "top" },
    margin: { l: 48, r: 8, t: 26, b: 10 }, font: { color: theme.fg, size: 10 },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    xaxis: { ...axis, title: { text: xAxis, standoff: 4 } }, yaxis: { ...axis, exponentformat: "power" },
    uirevision: xAxis,
  };
}

const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

// ---------------------------------------------------------------- parallel coordinates

function drawParallel(box, data, rows) {
  box.replaceChildren();
  const axes = data.axes || [];
  const lines = data.lines || [];
  if (!rows.length || !axes.length) return;
  const width = Math.max(360, Math.min(960, 130 * axes.length));
  const height = 240;
  const top = 34, bottom = 14, left = 40, right = 70;
  const xs = axes.map((_, j) => (axes.length === 1 ? width / 2 : left + (j * (width - left - right)) / (axes.length - 1)));
  const y = (p) => top + (1 - p) * (height - top - bottom);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  root.style.maxWidth = `${width}px`;
  root.append(svg("title", {}, `Hyper-parameters against ${data.metric}, one line per run`));

  const gradientId = `wb-cmp-gradient-${++gradients}`;
  const defs = svg("defs");
  const gradient = svg("linearGradient", { id: gradientId, x1: 0, y1: 1, x2: 0, y2: 0 });
  VIRIDIS.forEach((_, k) => gradient.append(svg("stop",
    { offset: k / (VIRIDIS.length - 1), "stop-color": viridis(k / (VIRIDIS.length - 1)) })));
  defs.append(gradient);
  root.append(defs);

  const lineLayer = svg("g");
  for (const line of lines) {
    const row = rows[line.run] || {};
    const tip = [row.id, ...axes.map((a) => `${a.name} = ${fmt(row[a.name])}`)].join("\n");
    for (const part of segments(line.positions)) {
      const points = part.map(([j, p]) => `${xs[j].toFixed(1)},${y(p).toFixed(1)}`).join(" ");
      // A run known on one axis only still shows, as a short tick.
      const shown = part.length > 1 ? points
        : `${(xs[part[0][0]] - 5).toFixed(1)},${y(part[0][1]).toFixed(1)} ${points}`;
      const poly = svg("polyline", { points: shown, stroke: viridis(line.value) });
      poly.dataset.run = String(line.run);
      poly.append(svg("title", {}, tip));
      lineLayer.append(poly);
    }
  }

  const axisLayer = svg("g");
  axes.forEach((axis, j) => {
    const x = xs[j];
    const isMetric = axis.kind === "metric";
    if (isMetric) {
      axisLayer.append(svg("rect", { x: x - 3, y: y(1), width: 6, height: y(0) - y(1), fill: `url(#${gradientId})` }));
    } else {
      axisLayer.append(svg("line", { x1: x, x2: x, y1: y(0), y2: y(1), stroke: "currentColor", "stroke-width": 1 }));
    }
    const name = axis.name.length > 20 ? `${axis.name.slice(0, 19)}…` : axis.name;
    const head = svg("text", { x, y: 14, "text-anchor": "middle", "font-weight": isMetric ? 700 : 600 }, name);
    head.append(svg("title", {}, `${axis.name}${axis.scale === "log" ? " (log scale)" : ""}`));
    axisLayer.append(head);
    if (axis.scale === "log") axisLayer.append(svg("text", { x, y: 26, "text-anchor": "middle", opacity: 0.7 }, "log"));
    const lastAxis = j === axes.length - 1 && axes.length > 1;
    for (const [p, label] of axis.ticks || []) {
      axisLayer.append(svg("line", { x1: x - 3, x2: x + 3, y1: y(p), y2: y(p), stroke: "currentColor" }));
      axisLayer.append(svg("text", { x: lastAxis ? x + 7 : x - 6, y: y(p) + 3, "text-anchor": lastAxis ? "start" : "end" },
        label));
    }
  });
  root.append(lineLayer, axisLayer);
  box.append(root);
}

// ---------------------------------------------------------------- view

function render({ model, el: rootEl }) {
  const view = el("div", "wb-dash wb-cmp");
  const bar = el("div", "wb-cmp-bar");
  const title = el("span", "wb-title", "Run comparison");
  const refresh = el("button", "", "Refresh");
  refresh.title = "Read the runs again from disk";
  const axisGroup = el("span", "wb-axis", "x: ");
  const axisButtons = ["epoch", "step"].map((value) => {
    const b = el("button", "", value === "step" ? "Steps" : "Epochs");
    b.dataset.axis = value;
    b.addEventListener("click", () => { model.set("x_axis", value); model.save_changes(); });
    return b;
  });
  axisGroup.append(...axisButtons);
  const key = el("span", "wb-cmp-key", "solid: train · dashed: val · one color per run");
  bar.append(title, refresh, axisGroup, key);

  const grid = el("div", "wb-grid");
  const tableHead = el("div", "wb-cmp-section", "Hyper-parameters and final metrics");
  const scroll = el("div", "wb-cmp-scroll");
  const table = el("table", "wb-cmp-table");
  scroll.append(table);
  const notes = el("ul", "wb-cmp-notes");
  const parallelHead = el("div", "wb-cmp-section");
  const parallelLabel = el("label", "", "Parallel coordinates, colored by ");
  const select = el("select");
  parallelLabel.append(select);
  parallelHead.append(parallelLabel);
  const parallelNote = el("div", "wb-note");
  const parallel = el("div", "wb-cmp-parallel");
  view.append(bar, grid, tableHead, scroll, notes, parallelHead, parallelNote, parallel);
  rootEl.append(view);

  const cells = new Map(); // metric name -> plot div
  let Plotly = null;

  const theme = () => {
    const css = getComputedStyle(view);
    return { fg: css.getPropertyValue("--jp-ui-font-color1").trim() || "#333",
      grid: css.getPropertyValue("--jp-border-color2").trim() || "#e0e0e0" };
  };

  function drawCurves() {
    if (!Plotly) return;
    const decoded = decodeSnapshot(model.get("_curves"));
    const items = decoded ? decodeEntries(decoded.header, decoded.body).curves : [];
    const byName = new Map();
    for (const item of items) {
      if (!byName.has(item.entry.name)) byName.set(item.entry.name, []);
      byName.get(item.entry.name).push(item);
    }
    for (const [name, div] of cells) {
      if (!byName.has(name)) { Plotly.purge(div); div.remove(); cells.delete(name); }
    }
    const rows = model.get("rows") || [];
    const colors = model.get("colors") || [];
    const xAxis = model.get("x_axis");
    const colorsNow = theme();
    const names = [...byName.keys()].sort(metricOrder);
    // Every chart in the grid first, in metric order: plotly sizes a chart to its grid cell when drawing it.
    for (const name of names) {
      if (!cells.has(name)) cells.set(name, el("div", "wb-chart"));
      grid.append(cells.get(name));
    }
    for (const name of names) {
      Plotly.react(cells.get(name), curveTraces(byName.get(name), rows, colors, xAxis),
        chartLayout(name, xAxis, colorsNow), CONFIG);
    }
  }

  function drawAxisButtons() {
    for (const b of axisButtons) b.classList.toggle("wb-on", b.dataset.axis === model.get("x_axis"));
  }

  function drawTable() {
    const rows = model.get("rows") || [];
    const colors = model.get("colors") || [];
    const { hparams = [], metrics = [] } = model.get("columns") || {};
    const chosen = model.get("metric");
    const names = ["id", "name", "status", ...hparams, ...metrics];
    const headRow = el("tr");
    headRow.append(el("th"));
    for (const name of names) {
      const th = el("th", metrics.includes(name) ? "wb-cmp-metric" : "", name);
      if (metrics.includes(name)) {
        th.title = "Color the parallel coordinates by this metric";
        th.addEventListener("click", () => { model.set("metric", name); model.save_changes(); });
      }
      if (name === chosen) th.classList.add("wb-cmp-chosen");
      headRow.append(th);
    }
    const body = rows.map((row, i) => {
      const tr = el("tr");
      const swatch = el("span", "wb-cmp-swatch");
      swatch.style.background = colors[i] || "transparent";
      const first = el("td");
      first.append(swatch);
      tr.append(first);
      for (const name of names) {
        const value = row[name];
        const td = el("td", typeof value === "number" ? "wb-cmp-num" : "");
        if (name === "status") {
          td.append(el("span", `wb-status wb-status-${value}`, fmt(value)));
        } else {
          td.textContent = fmt(value);
        }
        if (name === chosen) td.classList.add("wb-cmp-chosen");
        tr.append(td);
      }
      return tr;
    });
    table.replaceChildren(el("thead"), el("tbody"));
    table.tHead.append(headRow);
    table.tBodies[0].append(...body);
    tableHead.style.display = scroll.style.display = rows.length ? "" : "none";
    title.textContent = `Run comparison (${rows.length} run${rows.length === 1 ? "" : "s"})`;

    const options = metrics.includes(chosen) ? metrics : [...metrics, chosen];
    select.replaceChildren(...options.map((m) => {
      const option = el("option", "", m);
      option.value = m;
      return option;
    }));
    select.value = chosen;
  }

  function drawNotes() {
    const lines = model.get("notes") || [];
    notes.replaceChildren(...lines.map((line) => el("li", "", line)));
    notes.style.display = lines.length ? "" : "none";
  }

  function drawParallelView() {
    const data = model.get("parallel") || {};
    const rows = model.get("rows") || [];
    parallelHead.style.display = rows.length ? "" : "none";
    parallelNote.textContent = data.message || "";
    parallelNote.style.display = data.message ? "" : "none";
    drawParallel(parallel, data, rows);
  }

  refresh.addEventListener("click", () => send(model, { type: "refresh" }));
  select.addEventListener("change", () => { model.set("metric", select.value); model.save_changes(); });
  const onCurves = () => { drawAxisButtons(); drawCurves(); };
  const onTable = () => { drawTable(); drawParallelView(); };
  const onParallel = () => drawParallelView();
  const onNotes = () => drawNotes();
  const handlers = [
    ["change:_curves", onCurves], ["change:colors", onCurves], ["change:x_axis", onCurves],
    ["change:rows", onTable], ["change:columns", onTable], ["change:metric", onTable],
    ["change:parallel", onParallel], ["change:notes", onNotes],
  ];
  for (const [event, handler] of handlers) model.on(event, handler);

  let resizing = false;
  const resize = new ResizeObserver(() => {
    if (!Plotly || resizing) return;
    resizing = true;
    requestAnimationFrame(() => {
      resizing = false;
      for (const div of cells.values()) if (div.offsetParent) Plotly.Plots.resize(div);
    });
  });
  resize.observe(grid);

  drawAxisButtons();
  drawTable();
  drawNotes();
  drawParallelView();
  waitForPlotly(model).then((P) => { Plotly = P; drawCurves(); });

  return () => {
    for (const [event, handler] of handlers) model.off(event, handler);
    resize.disconnect();
    if (Plotly) for (const div of cells.values()) Plotly.purge(div);
  };
}

export default { initialize, render };
