import { bestEntries, filterRuns, sortNewestFirst } from '../logic/runs';

const runs = [
  { id: '20240101-aaaa', name: 'Digits CNN', created: '2024-01-01T10:00:00Z' },
  { id: '20240301-bbbb', name: null, created: '2024-03-01T10:00:00Z' },
  { id: '20240201-cccc', name: 'mlp-baseline', created: '2024-02-01T10:00:00Z' },
  { id: 'broken', name: 'no time', created: null }
];

describe('filterRuns', () => {
  it('matches name or id substrings ignoring case', () => {
    expect(filterRuns(runs, 'cnn').map(r => r.id)).toEqual(['20240101-aaaa']);
    expect(filterRuns(runs, 'BBBB').map(r => r.id)).toEqual(['20240301-bbbb']);
    expect(filterRuns(runs, '202402').map(r => r.id)).toEqual(['20240201-cccc']);
  });

  it('keeps every run for an empty or blank query', () => {
    expect(filterRuns(runs, '')).toHaveLength(4);
    expect(filterRuns(runs, '   ')).toHaveLength(4);
  });

  it('finds nothing when nothing matches', () => {
    expect(filterRuns(runs, 'transformer')).toEqual([]);
  });
});

describe('sortNewestFirst', () => {
  it('puts the newest run first and runs without a time last', () => {
    expect(sortNewestFirst(runs).map(r => r.id)).toEqual([
      '20240301-bbbb',
      '20240201-cccc',
      '20240101-aaaa',
      'broken'
    ]);
  });

  it('does not reorder its input', () => {
    const copy = runs.slice();
    sortNewestFirst(runs);
    expect(runs).toEqual(copy);
  });
});

describe('bestEntries', () => {
  const best = {
    loss: { value: 0.2, epoch: 9, mode: 'min' as const },
    accuracy: { value: 0.95, epoch: 9, mode: 'max' as const },
    val_loss: { value: 0.0812345, epoch: 7, mode: 'min' as const },
    val_accuracy: { value: 0.97, epoch: 8, mode: 'max' as const }
  };

  it('lists validation metrics first, at most three', () => {
    const entries = bestEntries(best);
    expect(entries.map(e => e.name)).toEqual(['val_loss', 'val_accuracy', 'loss']);
    expect(entries[0].text).toBe('val_loss 0.08123');
    expect(entries[0].title).toContain('epoch 7');
  });

  it('honours a limit and an absent best', () => {
    expect(bestEntries(best, 1)).toHaveLength(1);
    expect(bestEntries(undefined)).toEqual([]);
    expect(bestEntries({ loss: { value: null, epoch: null, mode: 'min' } })[0].text).toBe(
      'loss \u2013'
    );
  });
});
