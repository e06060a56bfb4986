/**
 * Pairing the train and validation columns of a metrics reply into charts.
 */

import { Columns } from './types';

/** Columns that index the points rather than measure the model. */
export const INDEX_COLUMNS: ReadonlySet<string> = new Set([
  'step',
  'epoch',
  'wall',
  'batch',
  'time'
]);

/** One chart: the metric name and the column holding it in each split. */
export interface MetricPair {
  name: string;
  train: string | null;
  val: string | null;
}

/**
 * One pair per metric, in the order the train columns come, then metrics only
 * the validation split has. A validation column named "val_loss" pairs with
 * the train column "loss" just as a validation column "loss" does.
 *
 * @example
 * pairMetrics({ step: [], loss: [] }, { step: [], val_loss: [] });
 * // [{ name: 'loss', train: 'loss', val: 'val_loss' }]
 */
export function pairMetrics(
  train: Columns | null | undefined,
  val: Columns | null | undefined
): MetricPair[] {
  const pairs: MetricPair[] = [];
  const byName = new Map<string, MetricPair>();
  for (const column of Object.keys(train ?? {})) {
    if (INDEX_COLUMNS.has(column)) {
      continue;
    }
    const pair = { name: column, train: column, val: null };
    pairs.push(pair);
    byName.set(column, pair);
  }
  for (const column of Object.keys(val ?? {})) {
    if (INDEX_COLUMNS.has(column)) {
      continue;
    }
    const name = column.startsWith('val_') ? column.slice(4) : column;
    const pair = byName.get(name);
    if (pair && pair.val === null) {
      pair.val = column;
    } else if (!pair) {
      const added = { name, train: null, val: column };
      pairs.push(added);
      byName.set(name, added);
    }
  }
  return pairs;
}

/** One (x, y) point of a curve; y is null where the value is missing. */
export interface Point {
  x: number;
  y: number | null;
}

/**
 * The points of `column` in `columns` against the first index column present
 * (`xColumns` in order), or against the row number when none is.
 */
export function columnPoints(
  columns: Columns | null | undefined,
  column: string,
  xColumns: ReadonlyArray<string> = ['epoch', 'step']
): Point[] {
  const ys = columns?.[column];
  if (!columns || !ys) {
    return [];
  }
  const xKey = xColumns.find(key => Array.isArray(columns[key]));
  const xs = xKey ? columns[xKey] : null;
  const points: Point[] = [];
  ys.forEach((y, i) => {
    const x = xs ? xs[i] : i;
    if (x === null || x === undefined || !Number.isFinite(x)) {
      return;
    }
    points.push({ x, y: y === null || !Number.isFinite(y) ? null : y });
  });
  return points;
}

/** How many points of `points` have a finite value. */
export function finiteCount(points: ReadonlyArray<Point>): number {
  return points.filter(p => p.y !== null && Number.isFinite(p.y)).length;
}
