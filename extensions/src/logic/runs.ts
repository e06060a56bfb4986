/**
 * Choosing and ordering the runs the sidebar lists.
 */

import { formatValue } from './format';
import { BestValue, RunRow } from './types';

/**
 * The runs whose name or id contains `query`, ignoring case and surrounding
 * spaces. An empty query keeps every run.
 */
export function filterRuns<T extends Pick<RunRow, 'id' | 'name'>>(
  runs: ReadonlyArray<T>,
  query: string
): T[] {
  const needle = query.trim().toLowerCase();
  if (!needle) {
    return runs.slice();
  }
  return runs.filter(
    run =>
      run.id.toLowerCase().includes(needle) ||
      (run.name ?? '').toLowerCase().includes(needle)
  );
}

/**
 * The runs newest first by their creation time; runs without a readable time
 * go last, and ties keep the order they came in.
 */
export function sortNewestFirst<T extends Pick<RunRow, 'created'>>(
  runs: ReadonlyArray<T>
): T[] {
  const time = (run: T): number => {
    const t = run.created ? Date.parse(run.created) : NaN;
    return Number.isNaN(t) ? -Infinity : t;
  };
  return runs
    .map((run, index) => ({ run, index, t: time(run) }))
    .sort((a, b) => (b.t === a.t ? a.index - b.index : b.t > a.t ? 1 : -1))
    .map(item => item.run);
}

/** One best value as a run row shows it. */
export interface BestEntry {
  name: string;
  text: string;
  /** A longer description, for a tooltip. */
  title: string;
}

/**
 * Up to `limit` best values of a run, validation metrics first, each as
 * "name value". Within each group the server's order is kept.
 *
 * @example
 * bestEntries({ loss: {...}, val_loss: { value: 0.0812, epoch: 7, mode: 'min' } })[0].text
 * // "val_loss 0.0812"
 */
export function bestEntries(
  best: Record<string, BestValue> | null | undefined,
  limit = 3
): BestEntry[] {
  if (!best) {
    return [];
  }
  const names = Object.keys(best);
  const ordered = [
    ...names.filter(name => name.startsWith('val_')),
    ...names.filter(name => !name.startsWith('val_'))
  ];
  return ordered.slice(0, limit).map(name => {
    const entry = best[name] ?? ({} as Partial<BestValue>);
    const value = formatValue(entry.value);
    const epoch =
      entry.epoch === null || entry.epoch === undefined
        ? ''
        : ` at epoch ${entry.epoch}`;
    const mode = entry.mode ? ` (${entry.mode})` : '';
    return {
      name,
      text: `${name} ${value}`,
      title: `best ${name}${mode}: ${value}${epoch}`
    };
  });
}

/**
 * A short key that changes whenever anything shown about the runs changes;
 * comparing keys tells the poll scheduler whether something happened.
 */
export function runsFingerprint(runs: ReadonlyArray<RunRow>): string {
  return JSON.stringify(runs);
}
