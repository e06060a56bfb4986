/**
 * Line charts drawn as plain SVG: axes with round ticks, one path per series,
 * a legend, and a read-out of the values under the pointer.
 *
 * Each series is drawn as `path.wb-Curve` (smoothed when a smoothed copy is
 * given) with `data-points` counting its finite raw values; the raw values
 * are drawn faintly underneath as `path.wb-CurveRaw` when smoothed.
 */

import { formatValue } from './logic/format';
import { Point } from './logic/metrics';
import { formatTick, niceDomain, niceTicks } from './logic/ticks';
import { s } from './dom';

export interface ChartSeries {
  label: string;
  /** A CSS colour, e.g. "var(--wb-color-train)". */
  color: string;
  /** The raw values. */
  points: ReadonlyArray<Point>;
  /** The smoothed values, one per point; drawn over the faint raw curve. */
  smoothed?: ReadonlyArray<number | null>;
  dashed?: boolean;
  /** Extra attributes for the curve, e.g. { 'data-split': 'val' }. */
  attrs?: Record<string, string>;
}

export interface ChartOptions {
  /** Written to `data-metric` and shown as the title. */
  metric: string;
  title?: string;
  xLabel?: string;
  series: ReadonlyArray<ChartSeries>;
  width?: number;
  height?: number;
}

const MARGIN = { left: 54, right: 14, top: 26, bottom: 34 };
const LEGEND_ROW = 16;
const CHAR_WIDTH = 6.4;

/** Draw `options.series` into a new `svg.wb-Chart`. */
export function lineChart(options: ChartOptions): SVGSVGElement {
  const width = options.width ?? 440;
  const plotHeight = options.height ?? 190;
  const legend = legendLayout(options.series, width - MARGIN.left - MARGIN.right);
  const height = MARGIN.top + plotHeight + MARGIN.bottom + legend.rows * LEGEND_ROW;

  const svg = s('svg', {
    class: 'wb-Chart',
    'data-metric': options.metric,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': options.title ?? options.metric
  });
  svg.appendChild(
    s('text', { class: 'wb-ChartTitle', x: MARGIN.left, y: 16 }, options.title ?? options.metric)
  );

  const xs: number[] = [];
  const ys: number[] = [];
  for (const series of options.series) {
    series.points.forEach((p, i) => {
      xs.push(p.x);
      if (p.y !== null && Number.isFinite(p.y)) {
        ys.push(p.y);
      }
      const smooth = series.smoothed?.[i];
      if (smooth !== null && smooth !== undefined && Number.isFinite(smooth)) {
        ys.push(smooth);
      }
    });
  }

  const plot = {
    left: MARGIN.left,
    right: width - MARGIN.right,
    top: MARGIN.top,
    bottom: MARGIN.top + plotHeight
  };

  if (ys.length === 0) {
    svg.appendChild(
      s(
        'text',
        { class: 'wb-ChartEmpty', x: (plot.left + plot.right) / 2, y: (plot.top + plot.bottom) / 2 },
        'no values yet'
      )
    );
    return svg;
  }

  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const [x0, x1] = spread(xMin, xMax);
  const [y0, y1] = niceDomain(Math.min(...ys), Math.max(...ys), 4);
  const sx = (x: number) => plot.left + ((x - x0) / (x1 - x0)) * (plot.right - plot.left);
  const sy = (y: number) => plot.bottom - ((y - y0) / (y1 - y0)) * (plot.bottom - plot.top);
  // Epochs and steps are whole numbers: no ticks between them, and a single
  // point gets its own tick only.
  const xTicks = xs.every(x => Number.isInteger(x))
    ? niceTicks(xMin, xMax, 5, { integer: true })
    : niceTicks(x0, x1, 5);

  svg.appendChild(axes(plot, xTicks, y0, y1, sx, sy, options.xLabel));

  const curves = s('g', { class: 'wb-Curves' });
  for (const series of options.series) {
    const raw = series.points.map(p => p.y);
    const finite = raw.filter(y => y !== null && Number.isFinite(y)).length;
    const style = `stroke: ${series.color}`;
    if (series.smoothed) {
      curves.appendChild(
        s('path', { class: 'wb-CurveRaw', d: pathData(series.points, raw, sx, sy), style })
      );
    }
    const shown = series.smoothed ?? raw;
    curves.appendChild(
      s('path', {
        class: series.dashed ? 'wb-Curve wb-mod-dashed' : 'wb-Curve',
        d: pathData(series.points, shown, sx, sy),
        style,
        'data-points': finite,
        ...(series.attrs ?? {})
      })
    );
    for (const i of isolated(shown)) {
      curves.appendChild(
        s('circle', {
          class: 'wb-Dot',
          cx: sx(series.points[i].x),
          cy: sy(shown[i] as number),
          r: 2.5,
          style: `fill: ${series.color}`
        })
      );
    }
  }
  svg.appendChild(curves);
  svg.appendChild(drawLegend(options.series, legend.positions, plot.left, plot.bottom + 30));
  addReadout(svg, options.series, plot, sx, sy, width);
  return svg;
}

type Plot = { left: number; right: number; top: number; bottom: number };

function axes(
  plot: Plot,
  xTicks: ReadonlyArray<number>,
  y0: number,
  y1: number,
  sx: (x: number) => number,
  sy: (y: number) => number,
  xLabel?: string
): SVGGElement {
  const group = s('g', { class: 'wb-Axes' });
  group.appendChild(
    s('rect', {
      class: 'wb-PlotArea',
      x: plot.left,
      y: plot.top,
      width: plot.right - plot.left,
      height: plot.bottom - plot.top
    })
  );
  const yTicks = niceTicks(y0, y1, 4);
  for (const tick of yTicks) {
    const y = sy(tick);
    group.appendChild(s('line', { class: 'wb-Grid', x1: plot.left, x2: plot.right, y1: y, y2: y }));
    group.appendChild(
      s('text', { class: 'wb-TickLabel wb-mod-y', x: plot.left - 6, y: y + 3.5 }, formatTick(tick, tickStep(yTicks)))
    );
  }
  for (const tick of xTicks) {
    const x = sx(tick);
    group.appendChild(
      s('line', { class: 'wb-Tick', x1: x, x2: x, y1: plot.bottom, y2: plot.bottom + 4 })
    );
    group.appendChild(
      s('text', { class: 'wb-TickLabel wb-mod-x', x, y: plot.bottom + 15 }, formatTick(tick, tickStep(xTicks)))
    );
  }
  if (xLabel) {
    group.appendChild(
      s('text', { class: 'wb-AxisLabel', x: plot.right, y: plot.bottom + 15 }, xLabel)
    );
  }
  return group;
}

/** Path data through the finite values, lifting the pen over gaps. */
function pathData(
  points: ReadonlyArray<Point>,
  values: ReadonlyArray<number | null>,
  sx: (x: number) => number,
  sy: (y: number) => number
): string {
  const parts: string[] = [];
  let pen = 'M';
  points.forEach((p, i) => {
    const y = values[i];
    if (y === null || y === undefined || !Number.isFinite(y)) {
      pen = 'M';
      return;
    }
    parts.push(`${pen}${sx(p.x).toFixed(1)},${sy(y).toFixed(1)}`);
    pen = 'L';
  });
  return parts.join('');
}

/** Indices of finite values with no finite neighbour: a path alone would not show them. */
function isolated(values: ReadonlyArray<number | null>): number[] {
  const ok = (i: number) => {
    const v = values[i];
    return v !== null && v !== undefined && Number.isFinite(v);
  };
  return values.map((_, i) => i).filter(i => ok(i) && !ok(i - 1) && !ok(i + 1));
}

function tickStep(ticks: ReadonlyArray<number>): number {
  return ticks.length > 1 ? ticks[1] - ticks[0] : NaN;
}

function spread(lo: number, hi: number): [number, number] {
  return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
}

function legendLayout(
  series: ReadonlyArray<ChartSeries>,
  width: number
): { rows: number; positions: Array<[number, number]> } {
  const positions: Array<[number, number]> = [];
  let x = 0;
  let row = 0;
  for (const item of series) {
    const itemWidth = 22 + item.label.length * CHAR_WIDTH + 14;
    if (x > 0 && x + itemWidth > width) {
      x = 0;
      row += 1;
    }
    positions.push([x, row]);
    x += itemWidth;
  }
  return { rows: series.length ? row + 1 : 0, positions };
}

function drawLegend(
  series: ReadonlyArray<ChartSeries>,
  positions: ReadonlyArray<[number, number]>,
  left: number,
  top: number
): SVGGElement {
  const group = s('g', { class: 'wb-Legend' });
  series.forEach((item, i) => {
    const [dx, row] = positions[i];
    const x = left + dx;
    const y = top + row * LEGEND_ROW;
    group.appendChild(
      s('line', {
        class: item.dashed ? 'wb-LegendLine wb-mod-dashed' : 'wb-LegendLine',
        x1: x,
        x2: x + 16,
        y1: y - 4,
        y2: y - 4,
        style: `stroke: ${item.color}`
      })
    );
    group.appendChild(s('text', { class: 'wb-LegendLabel', x: x + 21, y }, item.label));
  });
  return group;
}

/** A vertical rule and the series' values at the x nearest the pointer. */
function addReadout(
  svg: SVGSVGElement,
  series: ReadonlyArray<ChartSeries>,
  plot: Plot,
  sx: (x: number) => number,
  sy: (y: number) => number,
  width: number
): void {
  const rule = s('line', { class: 'wb-HoverRule', y1: plot.top, y2: plot.bottom });
  const box = s('g', { class: 'wb-HoverBox' });
  const hover = s('g', { class: 'wb-Hover', visibility: 'hidden' }, rule, box);
  svg.appendChild(hover);
  const xs = Array.from(new Set(series.flatMap(item => item.points.map(p => p.x)))).sort(
    (a, b) => a - b
  );

  svg.addEventListener('mousemove', event => {
    const rect = svg.getBoundingClientRect();
    if (rect.width === 0 || xs.length === 0) {
      return;
    }
    const px = ((event.clientX - rect.left) * width) / rect.width;
    if (px < plot.left || px > plot.right) {
      hover.setAttribute('visibility', 'hidden');
      return;
    }
    let x = xs[0];
    for (const candidate of xs) {
      if (Math.abs(sx(candidate) - px) < Math.abs(sx(x) - px)) {
        x = candidate;
      }
    }
    const lines: Array<[string, string, number | null]> = [];
    for (const item of series) {
      const i = item.points.findIndex(p => p.x === x);
      if (i < 0) {
        continue;
      }
      const value = item.smoothed ? item.smoothed[i] : item.points[i].y;
      lines.push([item.color, `${item.label}: ${formatValue(value)}`, value]);
    }
    const left = sx(x);
    rule.setAttribute('x1', String(left));
    rule.setAttribute('x2', String(left));
    while (box.firstChild) {
      box.removeChild(box.firstChild);
    }
    const texts = [`x = ${formatValue(x)}`, ...lines.map(line => line[1])];
    const boxWidth = 12 + Math.max(...texts.map(t => t.length)) * CHAR_WIDTH;
    const boxLeft = left + 8 + boxWidth > plot.right ? left - 8 - boxWidth : left + 8;
    box.appendChild(
      s('rect', {
        class: 'wb-HoverBackground',
        x: boxLeft,
        y: plot.top + 4,
        width: boxWidth,
        height: 6 + texts.length * 14,
        rx: 3
      })
    );
    texts.forEach((text, row) => {
      const color = row === 0 ? null : lines[row - 1][0];
      box.appendChild(
        s(
          'text',
          {
            class: 'wb-HoverText',
            x: boxLeft + 6,
            y: plot.top + 17 + row * 14,
            style: color ? `fill: ${color}` : null
          },
          text
        )
      );
    });
    for (const [color, , value] of lines) {
      if (value !== null && Number.isFinite(value)) {
        box.appendChild(
          s('circle', { class: 'wb-HoverDot', cx: left, cy: sy(value), r: 3, style: `fill: ${color}` })
        );
      }
    }
    hover.setAttribute('visibility', 'visible');
  });
  svg.addEventListener('mouseleave', () => hover.setAttribute('visibility', 'hidden'));
}
