import { columnPoints, finiteCount, pairMetrics } from '../logic/metrics';

describe('pairMetrics', () => {
  it('pairs train and validation columns of the same metric', () => {
    const train = { step: [], epoch: [], wall: [], loss: [], accuracy: [], learning_rate: [] };
    const val = { step: [], epoch: [], wall: [], loss: [], accuracy: [] };
    expect(pairMetrics(train, val)).toEqual([
      { name: 'loss', train: 'loss', val: 'loss' },
      { name: 'accuracy', train: 'accuracy', val: 'accuracy' },
      { name: 'learning_rate', train: 'learning_rate', val: null }
    ]);
  });

  it('pairs a "val_" prefixed validation column with its train column', () => {
    expect(pairMetrics({ loss: [] }, { val_loss: [] })).toEqual([
      { name: 'loss', train: 'loss', val: 'val_loss' }
    ]);
  });

  it('keeps metrics only one split has', () => {
    expect(pairMetrics({ batch_loss: [] }, {})).toEqual([
      { name: 'batch_loss', train: 'batch_loss', val: null }
    ]);
    expect(pairMetrics(undefined, { auc: [] })).toEqual([{ name: 'auc', train: null, val: 'auc' }]);
  });
});

describe('columnPoints', () => {
  it('plots against epoch, turning missing values into gaps', () => {
    const columns = { epoch: [1, 2, 3], loss: [0.5, null, 0.25] };
    const points = columnPoints(columns, 'loss');
    expect(points).toEqual([
      { x: 1, y: 0.5 },
      { x: 2, y: null },
      { x: 3, y: 0.25 }
    ]);
    expect(finiteCount(points)).toBe(2);
  });

  it('falls back to step, then to the row number', () => {
    expect(columnPoints({ step: [10, 20], loss: [1, 2] }, 'loss').map(p => p.x)).toEqual([10, 20]);
    expect(columnPoints({ loss: [1, 2] }, 'loss').map(p => p.x)).toEqual([0, 1]);
    expect(columnPoints({ loss: [1] }, 'accuracy')).toEqual([]);
  });
});
