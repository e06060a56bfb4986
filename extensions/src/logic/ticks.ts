/**
 * Axis ticks at round numbers, for the charts.
 */

import { formatValue } from './format';

export interface TickOptions {
  /**
   * The axis counts whole things (epochs, steps): ticks fall on whole numbers
   * only, at least 1 apart, and a range of zero width keeps its single value
   * instead of being widened.
   */
  integer?: boolean;
}

/**
 * About `count` evenly spaced round values covering [min, max]: steps of 1, 2
 * or 5 times a power of ten. A range of zero width is widened around its value.
 *
 * @example
 * niceTicks(0, 1, 5); // [0, 0.2, 0.4, 0.6, 0.8, 1]
 * niceTicks(0, 2, 5, { integer: true }); // [0, 1, 2]
 */
export function niceTicks(
  min: number,
  max: number,
  count = 5,
  options: TickOptions = {}
): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    return [];
  }
  if (min > max) {
    [min, max] = [max, min];
  }
  if (options.integer) {
    return integerTicks(min, max, count);
  }
  // A range within rounding noise (a float32 constant, say) is a flat line.
  if (max - min <= 1e-6 * Math.max(Math.abs(min), Math.abs(max))) {
    min = max = (min + max) / 2;
  }
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = niceStep((max - min) / Math.max(1, count));
  const first = Math.ceil(min / step - 1e-9);
  const last = Math.floor(max / step + 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) {
    // Rounded to the step's decimals so 0.1 * 3 reads 0.3.
    ticks.push(Number((i * step).toFixed(decimals(step))));
  }
  return ticks;
}

/**
 * The range [min, max] widened outwards to the nearest ticks, so the curves
 * do not touch the frame.
 */
export function niceDomain(
  min: number,
  max: number,
  count = 5
): [number, number] {
  const ticks = niceTicks(min, max, count);
  if (ticks.length === 0) {
    return [0, 1];
  }
  if (max - min <= 1e-6 * Math.max(Math.abs(min), Math.abs(max))) {
    // Flat: centre the line between the ticks niceTicks widened it to.
    return [ticks[0], ticks[ticks.length - 1]];
  }
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  const lo = ticks[0] > min ? ticks[0] - step : ticks[0];
  const hi = ticks[ticks.length - 1] < max ? ticks[ticks.length - 1] + step : ticks[ticks.length - 1];
  return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
}

/** Whole-number ticks within [min, max], steps of 1, 2 or 5 times a power of ten. */
function integerTicks(min: number, max: number, count: number): number[] {
  // `+ 0` turns the -0 that Math.ceil(-1e-9) gives into 0.
  const lo = Math.ceil(min - 1e-9) + 0;
  const hi = Math.floor(max + 1e-9) + 0;
  if (lo > hi) {
    return [];
  }
  if (lo === hi) {
    return [lo];
  }
  const step = Math.max(1, niceStep((max - min) / Math.max(1, count)));
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) {
    ticks.push(Math.round(i * step) + 0);
  }
  return ticks;
}

function niceStep(rough: number): number {
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const fraction = rough / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

function decimals(step: number): number {
  return Math.max(0, Math.min(20, -Math.floor(Math.log10(step)) + 1));
}

/**
 * A tick label with as many decimals as the tick step needs, so the labels of
 * one axis line up: 0.0009, 0.0010, 0.0011. Very large or very fine steps fall
 * back to `formatValue`.
 *
 * @example
 * formatTick(0.001, 0.0001); // "0.0010"
 */
export function formatTick(value: number, step: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(step) || step <= 0) {
    return formatValue(value);
  }
  if (Math.abs(value) < step / 2) {
    return '0';
  }
  if (Math.max(Math.abs(value), step) >= 1e5 || step < 1e-6) {
    return formatValue(value);
  }
  return value.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}
