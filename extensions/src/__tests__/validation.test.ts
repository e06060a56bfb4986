import { checkpointChoice, modelNameError, suggestModelName } from '../logic/validation';

describe('modelNameError', () => {
  it.each(['digits-cnn', 'a', 'Model_2.1', '-x', '_private', 'x'.repeat(64)])(
    'accepts %p',
    name => {
      expect(modelNameError(name)).toBeNull();
    }
  );

  it.each([
    ['', 'Enter a model name'],
    ['.hidden', 'cannot start with "."'],
    ['x'.repeat(65), 'at most 64 characters; this one has 65'],
    ['my model', 'got space'],
    ['a/b', 'got "/"'],
    ['caf\u00e9', 'got "\u00e9"']
  ])('rejects %p saying %p', (name, message) => {
    expect(modelNameError(name)).toContain(message);
  });
});

describe('suggestModelName', () => {
  it('turns a run name into a valid model name', () => {
    expect(suggestModelName('digits-cnn')).toBe('digits-cnn');
    expect(suggestModelName('my run #3')).toBe('my-run--3');
    expect(suggestModelName('..dots')).toBe('dots');
    expect(suggestModelName('y'.repeat(80))).toHaveLength(64);
  });

  it('falls back to "model" when nothing is left', () => {
    expect(suggestModelName(null)).toBe('model');
    expect(suggestModelName('...')).toBe('model');
  });
});

describe('checkpointChoice', () => {
  it('maps the select value to the request field', () => {
    expect(checkpointChoice('')).toBeNull();
    expect(checkpointChoice('latest')).toBeNull();
    expect(checkpointChoice('1200')).toBe(1200);
  });
});
