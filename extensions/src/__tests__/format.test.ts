import {
  describeConfig,
  formatCell,
  formatCount,
  formatDuration,
  formatTime,
  formatValue
} from '../logic/format';

describe('formatDuration', () => {
  it.each([
    [2.5, '2.5 s'],
    [0, '0.0 s'],
    [9.96, '10 s'],
    [42.4, '42 s'],
    [59.6, '1 min 00 s'],
    [184, '3 min 04 s'],
    [3599.4, '59 min 59 s'],
    [3720, '1 h 02 min'],
    [90000, '25 h 00 min']
  ])('%p seconds read %p', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('shows a dash for an unknown duration', () => {
    expect(formatDuration(null)).toBe('\u2013');
    expect(formatDuration(undefined)).toBe('\u2013');
    expect(formatDuration(NaN)).toBe('\u2013');
  });
});

describe('formatValue', () => {
  it.each([
    [0.972651, '0.9727'],
    [123.456, '123.5'],
    [2, '2'],
    [0, '0'],
    [-0.5, '-0.5'],
    [0.0000123, '1.23e-5'],
    [0.00001, '1e-5'],
    [123456, '1.23e5']
  ])('%p reads %p', (value, text) => {
    expect(formatValue(value)).toBe(text);
  });

  it('shows a dash for null and non-finite values', () => {
    expect(formatValue(null)).toBe('\u2013');
    expect(formatValue(Infinity)).toBe('\u2013');
  });
});

describe('formatCount', () => {
  it('groups thousands', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(-1000)).toBe('-1,000');
    expect(formatCount(null)).toBe('\u2013');
  });
});

describe('formatTime', () => {
  it('shows local time and keeps what it cannot read', () => {
    const text = formatTime('2024-03-05T14:07:09Z');
    expect(text).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:09$/);
    expect(formatTime('yesterday')).toBe('yesterday');
    expect(formatTime(null)).toBe('\u2013');
  });
});

describe('formatCell', () => {
  it('shows each kind of JSON value', () => {
    expect(formatCell(32)).toBe('32');
    expect(formatCell(0.001234)).toBe('0.001234');
    expect(formatCell('adam')).toBe('adam');
    expect(formatCell(true)).toBe('true');
    expect(formatCell(null)).toBe('\u2013');
    expect(formatCell([1, 2])).toBe('[1, 2]');
  });
});

describe('describeConfig', () => {
  it('shows a saved object as a call without its name and null arguments', () => {
    const adam = {
      module: 'workbench.optimizers',
      class_name: 'Adam',
      config: { name: 'adam', learning_rate: 0.003, clipnorm: null, amsgrad: false },
      registered_name: null
    };
    expect(describeConfig(adam)).toBe('Adam(learning_rate=0.003, amsgrad=false)');
    expect(formatCell(adam)).toBe('Adam(learning_rate=0.003, amsgrad=false)');
  });

  it('nests lists and plain objects', () => {
    expect(describeConfig(['accuracy', { class_name: 'AUC', config: null }])).toBe('[accuracy, AUC()]');
    expect(describeConfig({ a: 1, b: [2, null] })).toBe('{a: 1, b: [2, None]}');
  });
});
