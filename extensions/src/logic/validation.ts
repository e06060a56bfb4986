/**
 * Checking the export form before it is sent.
 */

const MODEL_NAME = /^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,63}$/;

/**
 * Why `name` cannot name a model in the repository, or null when it can.
 * A name has 1 to 64 letters, digits, '-', '_' and '.', and does not start
 * with '.'.
 *
 * @example
 * modelNameError('digits-cnn'); // null
 * modelNameError('.hidden'); // "A model name cannot start with '.'; ..."
 */
export function modelNameError(name: string): string | null {
  if (name.length === 0) {
    return 'Enter a model name: 1 to 64 letters, digits, "-", "_" or ".".';
  }
  if (name.length > 64) {
    return `A model name has at most 64 characters; this one has ${name.length}.`;
  }
  if (name.startsWith('.')) {
    return `A model name cannot start with "."; got "${name}".`;
  }
  if (!MODEL_NAME.test(name)) {
    const bad = Array.from(new Set(name.replace(/[A-Za-z0-9_.\-]/g, '')));
    const shown = bad.map(c => (c === ' ' ? 'space' : `"${c}"`)).join(', ');
    return `A model name uses only letters, digits, "-", "_" and "."; got ${shown}.`;
  }
  return null;
}

/**
 * A valid model name close to `name` (a run name, say): other characters become
 * '-', leading dots go, and it is cut to 64 characters. Falls back to "model".
 *
 * @example
 * suggestModelName('my run #3'); // "my-run--3"
 */
export function suggestModelName(name: string | null | undefined): string {
  const cleaned = (name ?? '')
    .trim()
    .replace(/[^A-Za-z0-9_.\-]/g, '-')
    .replace(/^\.+/, '')
    .slice(0, 64);
  return cleaned && modelNameError(cleaned) === null ? cleaned : 'model';
}

/** The checkpoint field of an export request from the select's value. */
export function checkpointChoice(value: string): number | null {
  if (value === '' || value === 'latest') {
    return null;
  }
  const step = Number(value);
  return Number.isInteger(step) ? step : null;
}
