import { clampWeight, emaDebiased } from '../logic/smoothing';

describe('emaDebiased', () => {
  it('matches the debiased moving average worked by hand', () => {
    const out = emaDebiased([1, 2, 3], 0.5) as number[];
    expect(out[0]).toBeCloseTo(1, 10);
    expect(out[1]).toBeCloseTo(5 / 3, 10);
    expect(out[2]).toBeCloseTo(17 / 7, 10);
  });

  it('returns the raw values for weight 0', () => {
    const values = [3, null, 1.5, NaN, -2];
    expect(emaDebiased(values, 0)).toEqual(values);
  });

  it('starts at the first value, not pulled towards zero', () => {
    expect(emaDebiased([10, 10, 10], 0.9)).toEqual([10, 10, 10].map(() => expect.closeTo(10, 10)));
  });

  it('keeps missing values as gaps and does not count them', () => {
    const out = emaDebiased([null, 1, NaN, 2, 3], 0.5);
    expect(out[0]).toBeNull();
    expect(out[2]).toBeNaN();
    // The gaps are skipped, so the finite values smooth as [1, 2, 3] do.
    expect(out[1]).toBeCloseTo(1, 10);
    expect(out[3]).toBeCloseTo(5 / 3, 10);
    expect(out[4]).toBeCloseTo(17 / 7, 10);
  });

  it('leaves the input untouched and has its length', () => {
    const values = [1, 2, 3, 4];
    const out = emaDebiased(values, 0.6);
    expect(values).toEqual([1, 2, 3, 4]);
    expect(out).toHaveLength(4);
  });

  it('smooths more with a larger weight', () => {
    const values = [0, 10, 0, 10, 0, 10];
    const spread = (xs: Array<number | null>) =>
      Math.max(...(xs.slice(2) as number[])) - Math.min(...(xs.slice(2) as number[]));
    expect(spread(emaDebiased(values, 0.9))).toBeLessThan(spread(emaDebiased(values, 0.3)));
  });
});

describe('clampWeight', () => {
  it('keeps weights in the slider range', () => {
    expect(clampWeight(0.6)).toBe(0.6);
    expect(clampWeight(1)).toBe(0.99);
    expect(clampWeight(-1)).toBe(0);
    expect(clampWeight(NaN)).toBe(0);
  });
});
