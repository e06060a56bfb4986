// ProfilePanel's view. Joined after plotly_client.js into one module (waitForPlotly, send and
// loadPlotlySource come from it). Everything it draws comes from the widget's traits; a chart
// without data is replaced by the line the kernel wrote for it in `missing`.

const CATEGORIES = ["data_wait", "compile", "dispatch", "device", "callbacks", "checkpoint", "validation", "other"];
const CATEGORY_COLORS = {
  data_wait: "#ff7f0e", compile: "#d62728", dispatch: "#9467bd", device: "#1f77b4",
  callbacks: "#8c564b", checkpoint: "#e377c2", validation: "#2ca02c", other: "#7f7f7f",
};
const MEMORY_PARTS = [["arguments", "arguments"], ["outputs", "outputs"], ["temporaries", "temporaries"],
  ["aliased", "aliased"], ["peak_estimate", "peak estimate"]];
const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

function initialize({ model }) {
  listenForPlotlySource(model);
}

// ---------------------------------------------------------------- formatting

function fmt(value, digits = 4) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return Number.isInteger(value) ? value.toLocaleString() : String(Number(value.toPrecision(digits)));
  return String(value);
}

function table(headers, rows, numeric) {
  const t = el("table", "wb-prof-table");
  const head = el("tr");
  for (const h of headers) head.append(el("th", "", h));
  t.append(el("thead"), el("tbody"));
  t.tHead.append(head);
  for (const { cells, className } of rows) {
    const tr = el("tr", className || "");
    cells.forEach((value, i) => tr.append(el("td", numeric.includes(i) ? "wb-prof-num" : "", fmt(value))));
    t.tBodies[0].append(tr);
  }
  return t;
}

// ---------------------------------------------------------------- charts

function layout(title, theme, extra) {
  const axis = { gridcolor: theme.grid, zerolinecolor: theme.grid, automargin: true };
  return {
    height: 260, title: { text: title, font: { size: 12 }, x: 0.01, xanchor: "left", y: 0.98, yanchor: "top" },
    margin: { l: 48, r: 8, t: 26, b: 10 }, font: { color: theme.fg, size: 10 },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    xaxis: { ...axis, ...(extra.xaxis || {}) }, yaxis: { ...axis, ...(extra.yaxis || {}) },
    legend: { orientation: "h", x: 0, y: -0.18, yanchor: "top", font: { size: 10 } },
    ...extra.rest,
  };
}

function layerFlops(costs, theme) {
  const rows = costs.rows || [];
  const names = rows.map((r) => `${r.name} (${r.class_name})`);
  const bar = (key, label, color) => ({
    type: "bar", orientation: "h", name: label, y: names, x: rows.map((r) => r[key].flops),
    marker: { color }, hovertemplate: `%{y}<br>${label}: %{x:,.0f} FLOPs<extra></extra>`,
  });
  const traces = [bar("forward", "forward", "#1f77b4"), bar("forward_backward", "forward+backward", "#aec7e8")];
  const title = `FLOPs per layer (batch of ${costs.batch_size ?? "?"})`;
  return [traces, layout(title, theme, {
    xaxis: { tickformat: "~s" }, yaxis: { autorange: "reversed" },
    rest: { barmode: "group", height: 90 + 34 * rows.length },
  })];
}

function layerTime(trace, theme) {
  const entries = Object.entries(trace.by_layer || {});
  const inside = entries.reduce((sum, [, us]) => sum + us, 0);
  const outside = Math.max(0, (trace.total_us || 0) - inside);
  const names = [...entries.map(([name]) => name), "(outside layers)"];
  const ms = [...entries.map(([, us]) => us / 1e3), outside / 1e3];
  const traces = [{
    type: "bar", orientation: "h", name: "device time", y: names, x: ms, showlegend: false,
    marker: { color: names.map((n) => (n === "(outside layers)" ? "#c7c7c7" : "#2ca02c")) },
    hovertemplate: "%{y}: %{x:.3f} ms<extra></extra>",
  }];
  const steps = trace.steps ? `, ${trace.steps} steps traced` : "";
  return [traces, layout(`Device time per layer (ms${steps})`, theme, {
    yaxis: { autorange: "reversed" }, rest: { height: 70 + 26 * names.length },
  })];
}

function stepMemory(memory, theme) {
  const traces = [{
    type: "bar", x: MEMORY_PARTS.map(([, label]) => label), y: MEMORY_PARTS.map(([key]) => memory[key] ?? 0),
    marker: { color: MEMORY_PARTS.map(([key]) => (key === "peak_estimate" ? "#d62728" : "#1f77b4")) },
    hovertemplate: "%{x}: %{y:,} bytes<extra></extra>", showlegend: false,
  }];
  const title = `Train step memory (batch of ${memory.batch_size ?? "?"}, ${memory.platform ?? "?"})`;
  return [traces, layout(title, theme, { yaxis: { tickformat: "~s", ticksuffix: "B" }, rest: {} })];
}

function deviceMemory(steps, theme) {
  const epochs = steps.map((s) => s.epoch + 1);
  const series = (key, name, color) => ({
    type: "scatter", mode: "lines+markers", name, x: epochs, y: steps.map((s) => (s.memory || {})[key] ?? null),
    line: { color }, hovertemplate: `epoch %{x}: %{y:,} bytes<extra>${name}</extra>`,
  });
  return [[series("bytes_in_use", "in use", "#1f77b4"), series("peak_bytes_in_use", "peak", "#d62728")],
    layout("Device memory at each epoch's end", theme, {
      xaxis: { title: { text: "epoch", standoff: 4 }, dtick: 1 }, yaxis: { tickformat: "~s", ticksuffix: "B" }, rest: {},
    })];
}

function stepTime(steps, theme) {
  const epochs = steps.map((s) => s.epoch + 1);
  const traces = CATEGORIES.map((category) => ({
    type: "bar", name: category, x: epochs, y: steps.map((s) => (s.seconds || {})[category] ?? 0),
    marker: { color: CATEGORY_COLORS[category] },
    hovertemplate: `epoch %{x}<br>${category}: %{y:.4f} s<extra></extra>`,
  }));
  return [traces, layout("Where each epoch's time went (seconds)", theme, {
    xaxis: { title: { text: "epoch", standoff: 4 }, dtick: 1 }, yaxis: { ticksuffix: " s" },
    rest: { barmode: "stack", height: 300 },
  })];
}

// ---------------------------------------------------------------- view

function render({ model, el: rootEl }) {
  const view = el("div", "wb-dash wb-prof");
  const bar = el("div", "wb-prof-bar");
  const title = el("span", "wb-title");
  const source = el("span", "wb-prof-source");
  const refresh = el("button", "", "Refresh");
  refresh.title = "Read the profile again";
  bar.append(title, source, refresh);
  const notes = el("ul", "wb-prof-notes");

  // One slot per chart: the chart, or the line saying why there is none.
  const slots = new Map();
  function slot(id) {
    const box = el("div", "wb-prof-slot");
    const div = el("div", "wb-chart");
    div.dataset.chart = id;
    const note = el("div", "wb-note");
    note.dataset.missing = id;
    box.append(div, note);
    slots.set(id, { box, div, note, drawn: false });
    return box;
  }
  const section = (text) => el("div", "wb-prof-section", text);
  const grid = (...ids) => {
    const g = el("div", "wb-grid");
    g.append(...ids.map(slot));
    return g;
  };
  const compileWarning = el("div", "wb-prof-warning");
  const compileNote = el("div", "wb-note");
  const compileScroll = el("div", "wb-prof-scroll");
  const traceBar = el("div", "wb-prof-trace");
  const capture = el("button", "wb-prof-capture", "Capture trace");
  const traceHint = el("span", "wb-prof-hint");
  traceBar.append(capture, traceHint);
  const traceNote = el("div", "wb-note");
  const traceScroll = el("div", "wb-prof-scroll");

  view.append(
    bar, notes,
    section("Per-layer cost"), grid("layer_costs", "layer_time"),
    section("Memory"), grid("step_memory", "device_memory"),
    section("Step time"), grid("steps"),
    section("Recompilations"), compileWarning, compileNote, compileScroll,
    section("Trace"), traceBar, traceNote, traceScroll,
  );
  rootEl.append(view);

  let Plotly = null;
  const theme = () => {
    const css = getComputedStyle(view);
    return { fg: css.getPropertyValue("--jp-ui-font-color1").trim() || "#333",
      grid: css.getPropertyValue("--jp-border-color2").trim() || "#e0e0e0" };
  };

  function drawHeader() {
    title.textContent = `Profile: ${model.get("title") || "?"}`;
    source.textContent = model.get("source") || "";
    const lines = model.get("notes") || [];
    notes.replaceChildren(...lines.map((line) => el("li", "", line)));
    notes.style.display = lines.length ? "" : "none";
  }

  function drawCharts() {
    const missing = model.get("missing") || {};
    const colors = theme();
    const figures = {
      layer_costs: () => layerFlops(model.get("layer_costs"), colors),
      layer_time: () => layerTime(model.get("trace_summary"), colors),
      step_memory: () => stepMemory(model.get("memory"), colors),
      device_memory: () => deviceMemory(model.get("steps") || [], colors),
      steps: () => stepTime(model.get("steps") || [], colors),
    };
    for (const [id, s] of slots) {
      const why = missing[id];
      s.note.textContent = why || "";
      s.note.style.display = why ? "" : "none";
      s.div.style.display = why ? "none" : "";
      if (why) {
        if (s.drawn && Plotly) Plotly.purge(s.div);
        s.drawn = false;
      } else if (Plotly) {
        const [traces, lay] = figures[id]();
        Plotly.react(s.div, traces, lay, CONFIG);
        s.drawn = true;
      }
    }
  }

  function drawCompiles() {
    const missing = model.get("missing") || {};
    const rows = model.get("compiles") || [];
    const repeated = model.get("repeated") || {};
    const total = model.get("compile_count") || rows.length;
    compileNote.textContent = missing.compiles || (total > rows.length ? `The latest ${rows.length} of ${total} compilations.` : "");
    compileNote.style.display = compileNote.textContent ? "" : "none";
    const names = Object.entries(repeated).map(([f, n]) => `${f} (${n} times)`);
    compileWarning.textContent = names.length
      ? `Compiled 3 times or more: ${names.join(", ")}. Each compilation stalls training; give every batch the same shape.`
      : "";
    compileWarning.style.display = names.length ? "" : "none";
    compileScroll.replaceChildren();
    if (!rows.length) return;
    compileScroll.append(table(["function", "#", "epoch", "step", "seconds", "cause"], rows.map((r) => ({
      cells: [r.function, r.count, r.epoch === undefined ? null : r.epoch + 1, r.step, r.seconds, r.cause],
      className: r.function in repeated ? "wb-prof-repeated" : "",
    })), [1, 2, 3, 4]));
  }

  function drawTrace() {
    const hint = model.get("trace_hint");
    const busy = model.get("tracing");
    capture.disabled = Boolean(hint) || busy;
    capture.textContent = busy ? "Capturing…" : "Capture trace";
    traceHint.textContent = hint ? `Unavailable: ${hint}`
      : `Trains ${model.get("trace_steps")} steps under jax.profiler (the model's weights change).`;
    const summary = model.get("trace_summary") || {};
    const missing = (model.get("missing") || {}).trace;
    const parts = [];
    if (!missing) {
      if (summary.steps) parts.push(`${summary.steps} steps`);
      if (summary.wall_s) parts.push(`${fmt(summary.wall_s)} s wall`);
      if (summary.total_us) parts.push(`${fmt(summary.total_us / 1e3)} ms of XLA ops on ${(summary.planes || []).join(", ")}`);
      for (const n of summary.notes || []) parts.push(n);
    }
    traceNote.textContent = missing || `Top operations: ${parts.join(" · ")}`;
    traceScroll.replaceChildren();
    const ops = summary.top_ops || [];
    if (missing || !ops.length) return;
    traceScroll.append(table(["operation", "layer", "category", "count", "total ms", "mean µs", "share"], ops.map((op) => ({
      cells: [op.name, op.layer, op.category, op.count, op.total_us / 1e3, op.mean_us,
        `${(100 * (op.share || 0)).toFixed(1)}%`],
    })), [3, 4, 5, 6]));
  }

  refresh.addEventListener("click", () => send(model, { type: "refresh" }));
  capture.addEventListener("click", () => {
    capture.disabled = true;
    capture.textContent = "Capturing…";
    send(model, { type: "capture_trace" });
  });

  // A refresh changes many traits at once: draw what they affect once, on the next frame.
  const pending = new Set();
  let frame = null;
  const later = (...draws) => () => {
    for (const draw of draws) pending.add(draw);
    if (frame === null) {
      frame = requestAnimationFrame(() => {
        frame = null;
        const draws = [...pending];
        pending.clear();
        for (const draw of draws) draw();
      });
    }
  };
  const onHeader = later(drawHeader);
  const onCharts = later(drawCharts);
  const onCompiles = later(drawCompiles);
  const onTrace = later(drawTrace, drawCharts);
  const onMissing = later(drawCharts, drawCompiles, drawTrace);
  const handlers = [
    ["change:title", onHeader], ["change:source", onHeader], ["change:notes", onHeader],
    ["change:steps", onCharts], ["change:layer_costs", onCharts], ["change:memory", onCharts],
    ["change:compiles", onCompiles], ["change:repeated", onCompiles], ["change:compile_count", onCompiles],
    ["change:trace_summary", onTrace], ["change:trace_hint", onTrace], ["change:tracing", onTrace],
    ["change:trace_steps", onTrace],
    ["change:missing", onMissing],
  ];
  for (const [event, handler] of handlers) model.on(event, handler);

  let resizing = false;
  const resize = new ResizeObserver(() => {
    if (!Plotly || resizing) return;
    resizing = true;
    requestAnimationFrame(() => {
      resizing = false;
      for (const s of slots.values()) if (s.drawn && s.div.offsetParent) Plotly.Plots.resize(s.div);
    });
  });
  resize.observe(view);

  drawHeader();
  drawCompiles();
  drawTrace();
  drawCharts();
  waitForPlotly(model).then((P) => { Plotly = P; drawCharts(); });

  return () => {
    for (const [event, handler] of handlers) model.off(event, handler);
    resize.disconnect();
    if (frame !== null) cancelAnimationFrame(frame);
    if (Plotly) for (const s of slots.values()) if (s.drawn) Plotly.purge(s.div);
  };
}

export default { initialize, render };
