import { choiceColumn, curveChoices, defaultChoice, differingColumns } from '../logic/compare';

describe('differingColumns', () => {
  const rows = [
    { id: 'a', lr: 0.001, batch_size: 32, loss: 0.2, opt: { name: 'adam' } },
    { id: 'b', lr: 0.01, batch_size: 32, loss: 0.3, opt: { name: 'adam' } }
  ];

  it('names the columns whose values differ', () => {
    expect([...differingColumns(rows, ['lr', 'batch_size', 'loss', 'opt'])]).toEqual(['lr', 'loss']);
  });

  it('counts a missing value as different from a present one', () => {
    expect(differingColumns([{ x: 1 }, {}], ['x']).has('x')).toBe(true);
  });

  it('finds nothing different in a single run', () => {
    expect(differingColumns([rows[0]], ['lr']).size).toBe(0);
  });
});

describe('curveChoices', () => {
  it('offers train metrics, then validation metrics with a val_ prefix, once each', () => {
    const curves = {
      a: { train: { epoch: [], loss: [], accuracy: [] }, val: { epoch: [], loss: [] } },
      b: { train: { epoch: [], loss: [] }, val: { epoch: [], val_loss: [], auc: [] } }
    };
    const choices = curveChoices(curves);
    expect(choices.map(c => c.key)).toEqual(['loss', 'accuracy', 'val_loss', 'val_auc']);
    expect(choices[2]).toEqual({ key: 'val_loss', split: 'val', column: 'loss' });
    expect(defaultChoice(choices)?.key).toBe('val_loss');
  });

  it('has no default without curves', () => {
    expect(defaultChoice(curveChoices({}))).toBeNull();
  });
});

describe('choiceColumn', () => {
  it('finds a validation metric under either name', () => {
    const choice = { key: 'val_loss', split: 'val' as const, column: 'loss' };
    expect(choiceColumn({ loss: [] }, choice)).toBe('loss');
    expect(choiceColumn({ val_loss: [] }, choice)).toBe('val_loss');
    expect(choiceColumn({ accuracy: [] }, choice)).toBeNull();
    expect(choiceColumn(undefined, choice)).toBeNull();
  });
});
