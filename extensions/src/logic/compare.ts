/**
 * What the compare view shows: which columns differ, which metrics to offer.
 */

import { Columns } from './types';
import { INDEX_COLUMNS } from './metrics';

/**
 * The columns among `columns` whose values are not all the same across
 * `rows`. Values are compared as JSON, so 0.1 and "0.1" differ but equal
 * objects do not; a missing value counts as null.
 */
export function differingColumns(
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: ReadonlyArray<string>
): Set<string> {
  const differ = new Set<string>();
  if (rows.length < 2) {
    return differ;
  }
  for (const column of columns) {
    const seen = new Set(rows.map(row => JSON.stringify(row[column] ?? null)));
    if (seen.size > 1) {
      differ.add(column);
    }
  }
  return differ;
}

/** One entry of the compare view's metric picker. */
export interface CurveChoice {
  /** The label, e.g. "val_loss". */
  key: string;
  split: 'train' | 'val';
  /** The column in that split, e.g. "loss". */
  column: string;
}

/**
 * Every curve any of the runs has, train metrics by their name and validation
 * metrics prefixed "val_", train first, each once.
 */
export function curveChoices(
  curves: Record<string, { train?: Columns; val?: Columns }>
): CurveChoice[] {
  const train: CurveChoice[] = [];
  const val: CurveChoice[] = [];
  const seen = new Set<string>();
  for (const run of Object.values(curves)) {
    for (const column of Object.keys(run.train ?? {})) {
      if (!INDEX_COLUMNS.has(column) && !seen.has(column)) {
        seen.add(column);
        train.push({ key: column, split: 'train', column });
      }
    }
    for (const column of Object.keys(run.val ?? {})) {
      const key = column.startsWith('val_') ? column : `val_${column}`;
      if (!INDEX_COLUMNS.has(column) && !seen.has(key)) {
        seen.add(key);
        val.push({ key, split: 'val', column });
      }
    }
  }
  return [...train, ...val];
}

/**
 * The column of `columns` that holds `choice`: its own column, or the same
 * metric with or without the "val_" prefix (runs may name it either way).
 */
export function choiceColumn(
  columns: Columns | null | undefined,
  choice: CurveChoice
): string | null {
  if (!columns) {
    return null;
  }
  const candidates = [choice.column, choice.key];
  if (choice.split === 'val') {
    candidates.push(choice.key.slice(4));
  }
  return candidates.find(name => Array.isArray(columns[name])) ?? null;
}

/** The curve to show first: validation loss, then loss, then whatever comes first. */
export function defaultChoice(choices: ReadonlyArray<CurveChoice>): CurveChoice | null {
  return (
    choices.find(c => c.key === 'val_loss') ??
    choices.find(c => c.key === 'loss') ??
    choices[0] ??
    null
  );
}
