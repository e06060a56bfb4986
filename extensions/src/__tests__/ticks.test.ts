import { formatTick, niceDomain, niceTicks } from '../logic/ticks';

describe('niceTicks', () => {
  it('steps by 1, 2 or 5 times a power of ten', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 100, 4)).toEqual([0, 50, 100]);
    expect(niceTicks(0.13, 0.87, 4)).toEqual([0.2, 0.4, 0.6, 0.8]);
  });

  it('rounds away floating point noise', () => {
    expect(niceTicks(0, 0.3, 3)).toEqual([0, 0.1, 0.2, 0.3]);
  });

  it('widens a flat range and ignores non-finite bounds', () => {
    expect(niceTicks(2, 2, 4).length).toBeGreaterThan(1);
    expect(niceTicks(NaN, 1)).toEqual([]);
  });
});

describe('niceTicks on an integer axis (epochs, steps)', () => {
  const integer = { integer: true };
  const labels = (ticks: number[]) =>
    ticks.map(t => formatTick(t, ticks.length > 1 ? ticks[1] - ticks[0] : 1));

  it('puts ticks on whole numbers only over a short run', () => {
    expect(niceTicks(0, 2, 5, integer)).toEqual([0, 1, 2]);
    expect(niceTicks(0, 1, 5, integer)).toEqual([0, 1]);
    expect(labels(niceTicks(0, 2, 5, integer))).toEqual(['0', '1', '2']);
    expect(labels(niceTicks(0, 1, 5, integer))).toEqual(['0', '1']);
  });

  it('gives a single point its own tick and nothing else', () => {
    expect(niceTicks(0, 0, 5, integer)).toEqual([0]);
    expect(niceTicks(3, 3, 5, integer)).toEqual([3]);
  });

  it('keeps round steps over a longer run', () => {
    const ticks = niceTicks(0, 29, 5, integer);
    expect(ticks).toEqual([0, 10, 20]);
    expect(ticks.every(t => Number.isInteger(t))).toBe(true);
    expect(labels(ticks)).toEqual(['0', '10', '20']);
  });

  it('never steps by less than 1', () => {
    for (let max = 0; max <= 30; max++) {
      const ticks = niceTicks(0, max, 5, integer);
      expect(ticks.length).toBeGreaterThan(0);
      expect(ticks.every(t => Number.isInteger(t))).toBe(true);
      ticks.slice(1).forEach((t, i) => expect(t - ticks[i]).toBeGreaterThanOrEqual(1));
    }
  });

  it('leaves fractional axes as they were', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 2, 5)).toEqual([0, 0.5, 1, 1.5, 2]);
  });
});

describe('niceDomain', () => {
  it('widens the range out to ticks', () => {
    expect(niceDomain(0.13, 0.87, 4)).toEqual([0, 1]);
    expect(niceDomain(0, 1, 5)).toEqual([0, 1]);
  });
});

describe('a flat series', () => {
  it('gets distinct ticks around its value, not rounding noise', () => {
    const noisy = [0.003, 0.0030000000000001, 0.0029999999999999];
    const [lo, hi] = niceDomain(Math.min(...noisy), Math.max(...noisy), 4);
    expect(lo).toBeLessThan(0.0029);
    expect(hi).toBeGreaterThan(0.0031);
    const ticks = niceTicks(lo, hi, 4);
    expect(new Set(ticks.map(t => t.toPrecision(4))).size).toBe(ticks.length);
  });
});

describe('formatTick', () => {
  it('gives the labels of one axis the same decimals', () => {
    expect([0.0009, 0.001, 0.0011].map(t => formatTick(t, 0.0001))).toEqual([
      '0.0009',
      '0.0010',
      '0.0011'
    ]);
    expect([0, 0.5, 1].map(t => formatTick(t, 0.5))).toEqual(['0', '0.5', '1.0']);
    expect(formatTick(150, 50)).toBe('150');
  });

  it('writes zero as 0, even with rounding noise', () => {
    expect(formatTick(1e-17, 0.1)).toBe('0');
  });

  it('falls back to compact values for huge or very fine steps', () => {
    expect(formatTick(200000, 100000)).toBe('2e5');
    expect(formatTick(3e-7, 1e-7)).toBe('3e-7');
  });
});
