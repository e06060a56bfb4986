// LiveDashboard's view. Joined after smoothing.js and series_store.js into one
// module (emaDebiased and SeriesStore come from them). The series live on the
// model (one store per widget, shared by all its views); plotly comes from the
// shared PlotlyLibrary widget through globalThis.__workbench_plotly__.

const STORES = new Map(); // widget uid -> SeriesStore
const SPLIT_COLORS = { train: "#1f77b4", val: "#ff7f0e" };
const OTHER_COLORS = ["#2ca02c", "#9467bd", "#8c564b", "#e377c2"];
const BAND_ALPHAS = [0.16, 0.26, 0.38, 0.5]; // outermost band first, as TensorBoard shades them
const REDRAW_MS = 250;

function storeFor(model) {
  const uid = model.get("_uid");
  if (!STORES.has(uid)) STORES.set(uid, new SeriesStore());
  return STORES.get(uid);
}


function initialize({ model }) {
  const store = storeFor(model);
  store.applySnapshot(model.get("_snapshot"));
  model.on("change:_snapshot", () => store.applySnapshot(model.get("_snapshot")));
  model.on("msg:custom", (msg, buffers) => {
    if (msg.type === "delta") {
      const fits = store.applyDelta(msg, buffers && buffers[0]);
      send(model, { type: "ack", seq: msg.seq });
      if (!fits) send(model, { type: "ready" });
    } else if (msg.type === "plotly_source") {
      loadPlotlySource(buffers && buffers[0]).catch((e) => console.error("[workbench] plotly:", e));
    }
  });
  send(model, { type: "ready" }); // built from the snapshot: ask the kernel for everything since
}

// ---------------------------------------------------------------- formatting

function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h ${String(m).padStart(2, "0")}m` : m ? `${m}m ${String(r).padStart(2, "0")}s` : `${r}s`;
}

// The time left is shown only while the run is running: a stopped or failed run has none left.
function progressText(p, running) {
  const parts = [];
  if (p.epochs) parts.push(`epoch ${Math.min((p.epoch ?? 0) + 1, p.epochs)}/${p.epochs}`);
  if (p.step !== undefined && p.step !== null) parts.push(`step ${p.step.toLocaleString()}`);
  if (p.steps_per_second) parts.push(`${p.steps_per_second.toPrecision(3)} steps/s`);
  if (running && p.eta_seconds !== null && p.eta_seconds !== undefined) parts.push(`ETA ${duration(p.eta_seconds)}`);
  if (p.elapsed_seconds) parts.push(`${duration(p.elapsed_seconds)} elapsed`);
  return parts.join(" · ");
}

function isRate(name) {
  return name === "lr" || name.includes("learning_rate");
}

function metricOrder(a, b) {
  const rank = (n) => (n === "loss" ? 0 : isRate(n) ? 2 : 1);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function splitColor(split, index) {
  return SPLIT_COLORS[split] || OTHER_COLORS[index % OTHER_COLORS.length];
}

// ---------------------------------------------------------------- traces

// The run logger writes each step's own value as `batch_<metric>`, next to `<metric>`, the epoch's
// mean so far; both are drawn on the chart of <metric>.
function chartName(name) {
  return name.startsWith("batch_") ? name.slice(6) : name;
}

function curveTraces(curves, name, opts) {
  const traces = [];
  const hasBatch = curves.some((c) => c.level === "step" && c.name.startsWith("batch_"));
  const splits = [...new Set(curves.map((c) => c.split))].sort((a, b) =>
    (a === "train" ? 0 : a === "val" ? 1 : 2) - (b === "train" ? 0 : b === "val" ? 1 : 2));
  for (const c of curves) {
    if (opts.xAxis === "epoch" && c.level !== "epoch") continue;
    const color = splitColor(c.split, splits.indexOf(c.split));
    const x = opts.xAxis === "epoch" ? c.epoch : c.step;
    const y = c.values[0];
    if (c.level === "step" && hasBatch && !c.name.startsWith("batch_")) {
      traces.push({ x, y, type: "scatter", mode: "lines", name: `${c.split} running mean`,
        line: { color, width: 1, dash: "dot" } });
    } else if (c.level === "step") {
      const smooth = opts.smoothing > 0 && !isRate(name) && y.length > 2;
      traces.push({ x, y, type: "scatter", mode: "lines", name: c.split, legendgroup: c.split,
        line: { color, width: smooth ? 1 : 1.6 }, opacity: smooth ? 0.25 : 1, showlegend: !smooth,
        hoverinfo: smooth ? "skip" : undefined });
      if (smooth) {
        traces.push({ x, y: emaDebiased(y, opts.smoothing), type: "scatter", mode: "lines", name: c.split,
          legendgroup: c.split, line: { color, width: 1.8 } });
      }
    } else {
      const alongSteps = opts.xAxis === "step" && c.split === "train"; // beside the per-step curve
      traces.push({ x, y, type: "scatter", mode: y.length > 60 ? "lines" : "lines+markers",
        name: alongSteps ? "train epoch" : c.split, marker: { size: 5 },
        line: { color, width: 1.6, dash: alongSteps ? "dash" : "solid" } });
    }
  }
  return traces;
}

function distributionTraces(d, xAxis) {
  const x = xAxis === "epoch" ? d.epoch : d.step;
  const back = [...x].reverse();
  const traces = BAND_ALPHAS.map((alpha, k) => ({
    x: [...x, ...back], y: [...d.values[k], ...[...d.values[8 - k]].reverse()], type: "scatter",
    mode: "lines", fill: "toself", fillcolor: `rgba(255,112,67,${alpha})`, line: { width: 0 },
    hoverinfo: "skip", showlegend: false,
  }));
  traces.push({ x, y: d.values[4], type: "scatter", mode: "lines", name: "median",
    line: { color: "rgb(230,81,0)", width: 1.4 }, showlegend: false });
  return traces;
}

// Plotly spans a constant series over [v - 1, v + 1], where a learning rate of 1e-3 reads as 0.
function constantRange(traces, log) {
  let lo = Infinity, hi = -Infinity;
  for (const t of traces) for (const v of t.y) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (log || lo !== hi || lo === 0) return undefined;
  return [lo - Math.abs(lo) * 0.5, hi + Math.abs(hi) * 0.5];
}

function layout(title, opts, theme, height, traces) {
  const axis = { gridcolor: theme.grid, zerolinecolor: theme.grid, automargin: true };
  const range = constantRange(traces, opts.log);
  return {
    height, title: { text: title, font: { size: 12 }, x: 0.01, xanchor: "left", y: 0.98, yanchor: "top" },
    margin: { l: 48, r: 8, t: 26, b: 10 }, font: { color: theme.fg, size: 10 },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    xaxis: { ...axis, title: { text: opts.xAxis, standoff: 4 } },
    yaxis: { ...axis, type: opts.log ? "log" : "linear", exponentformat: "power", range,
      autorange: range ? false : true },
    legend: { orientation: "h", x: 0, y: -0.3, yanchor: "top", font: { size: 10 } },
    uirevision: `${opts.xAxis}|${opts.log}`, // zoom survives data updates, not a change of axes
  };
}

const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

// ---------------------------------------------------------------- view

function render({ model, el: root }) {
  const store = storeFor(model);
  const dash = el("div", "wb-dash");
  const head = el("div", "wb-head");
  const title = el("span", "wb-title");
  const badge = el("span", "wb-status");
  const progress = el("span", "wb-progress");
  const stop = el("button", "wb-stop", "Stop");
  stop.title = "End training cleanly after the current step";
  head.append(title, badge, progress, stop);
  const hparams = el("div", "wb-hparams");

  const controls = el("div", "wb-controls");
  const smoothLabel = el("label", "", "Smoothing ");
  const slider = el("input");
  Object.assign(slider, { type: "range", min: "0", max: "0.999", step: "0.001" });
  const smoothValue = el("span", "wb-value");
  smoothLabel.append(slider, smoothValue);
  const logLabel = el("label");
  const logBox = el("input");
  logBox.type = "checkbox";
  logLabel.append(logBox, " Log scale");
  const axisGroup = el("span", "wb-axis", "x: ");
  const axisButtons = ["step", "epoch"].map((value) => {
    const b = el("button", "", value === "step" ? "Steps" : "Epochs");
    b.dataset.axis = value;
    b.addEventListener("click", () => { model.set("x_axis", value); model.save_changes(); });
    return b;
  });
  axisGroup.append(...axisButtons);
  controls.append(smoothLabel, logLabel, axisGroup);

  const grid = el("div", "wb-grid");
  const note = el("div", "wb-note", "Waiting for data…");
  const dists = el("details", "wb-dists");
  const distSummary = el("summary");
  const distGrid = el("div", "wb-grid");
  dists.append(distSummary, distGrid);
  dash.append(head, hparams, controls, note, grid, dists);
  root.append(dash);

  const cells = new Map(); // chart id -> plot div
  let Plotly = null;
  let timer = null;
  let lastDraw = 0;
  let smoothing = model.get("smoothing");

  const theme = () => {
    const css = getComputedStyle(dash);
    return { fg: css.getPropertyValue("--jp-ui-font-color1").trim() || "#333",
      grid: css.getPropertyValue("--jp-border-color2").trim() || "#e0e0e0" };
  };

  function cell(container, id) {
    if (!cells.has(id)) {
      const div = el("div", "wb-chart");
      container.append(div);
      cells.set(id, div);
    }
    return cells.get(id);
  }

  function drawHeader() {
    const status = model.get("status");
    title.textContent = model.get("run_name") || "Training run";
    badge.textContent = status;
    badge.className = `wb-status wb-status-${status}`;
    badge.title = (model.get("run_info") || {}).error || "";
    progress.textContent = progressText(model.get("progress") || {}, status === "running");
    const stopping = model.get("stop_requested");
    stop.disabled = stopping || status !== "running";
    stop.textContent = stopping && status === "running" ? "Stopping…" : "Stop";
    const info = model.get("run_info") || {};
    const params = Object.entries(info.hyperparameters || {});
    hparams.textContent = params.map(([k, v]) => `${k}=${v}`).join("  ·  ");
    hparams.title = info.id ? `run ${info.id}` : "";
    hparams.style.display = params.length ? "" : "none";
    slider.value = String(smoothing);
    smoothValue.textContent = smoothing.toFixed(3);
    logBox.checked = model.get("log_scale");
    for (const b of axisButtons) b.classList.toggle("wb-on", b.dataset.axis === model.get("x_axis"));
  }

  function drawCharts() {
    if (!Plotly) return;
    lastDraw = performance.now();
    const opts = { smoothing, log: model.get("log_scale"), xAxis: model.get("x_axis") };
    const colors = theme();
    const byName = new Map();
    for (const c of store.curves.values()) {
      const chart = chartName(c.name);
      if (!byName.has(chart)) byName.set(chart, []);
      byName.get(chart).push(c);
    }
    note.style.display = byName.size || store.dists.size ? "none" : "";
    for (const name of [...byName.keys()].sort(metricOrder)) {
      const traces = curveTraces(byName.get(name), name, opts);
      const div = cell(grid, `curve:${name}`);
      div.style.display = traces.length ? "" : "none";
      if (traces.length) Plotly.react(div, traces, layout(name, opts, colors, 270, traces), CONFIG);
    }
    distSummary.textContent = `Weight and gradient distributions (${store.dists.size})`;
    dists.style.display = store.dists.size ? "" : "none";
    if (dists.open) {
      for (const name of [...store.dists.keys()].sort()) {
        const d = store.dists.get(name);
        const traces = distributionTraces(d, opts.xAxis);
        Plotly.react(cell(distGrid, `dist:${name}`), traces, layout(name, { ...opts, log: false }, colors, 220, []),
          CONFIG);
      }
    }
  }

  // At most one redraw per REDRAW_MS, however often data arrives.
  function scheduleDraw() {
    if (timer !== null) return;
    const wait = Math.max(0, REDRAW_MS - (performance.now() - lastDraw));
    timer = setTimeout(() => requestAnimationFrame(() => { timer = null; drawCharts(); }), wait);
  }

  slider.addEventListener("input", () => {
    smoothing = Number(slider.value);
    smoothValue.textContent = smoothing.toFixed(3);
    scheduleDraw();
  });
  slider.addEventListener("change", () => { model.set("smoothing", smoothing); model.save_changes(); });
  logBox.addEventListener("change", () => { model.set("log_scale", logBox.checked); model.save_changes(); });
  stop.addEventListener("click", () => {
    model.set("stop_requested", true);
    model.save_changes();
    drawHeader();
  });
  dists.addEventListener("toggle", scheduleDraw);

  const onModel = () => { smoothing = model.get("smoothing"); drawHeader(); scheduleDraw(); };
  for (const name of ["smoothing", "log_scale", "x_axis"]) model.on(`change:${name}`, onModel);
  for (const name of ["status", "progress", "run_name", "run_info", "stop_requested"]) {
    model.on(`change:${name}`, drawHeader);
  }
  store.listeners.add(scheduleDraw);
  let resizing = false;
  const resize = new ResizeObserver(() => {
    if (!Plotly || resizing) return;
    resizing = true;
    requestAnimationFrame(() => {
      resizing = false;
      for (const div of cells.values()) if (div.offsetParent) Plotly.Plots.resize(div);
    });
  });
  resize.observe(dash);

  drawHeader();
  waitForPlotly(model).then((P) => { Plotly = P; drawCharts(); });

  return () => {
    store.listeners.delete(scheduleDraw);
    resize.disconnect();
    if (timer !== null) clearTimeout(timer);
    if (Plotly) for (const div of cells.values()) Plotly.purge(div);
  };
}

export default { initialize, render };
