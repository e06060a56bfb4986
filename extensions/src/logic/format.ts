/**
 * How numbers, durations and times read in the Workbench views.
 */

const DASH = '\u2013';

/**
 * A metric value in at most four significant digits; very large or very small
 * magnitudes in exponent form. Null and non-finite values read as a dash.
 *
 * @example
 * formatValue(0.972651); // "0.9727"
 * formatValue(0.0000123); // "1.23e-5"
 */
export function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return DASH;
  }
  if (value === 0) {
    return '0';
  }
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) {
    return value.toExponential(2).replace(/\.?0+e/, 'e').replace('e+', 'e');
  }
  return String(Number(value.toPrecision(4)));
}

/**
 * A duration in seconds the way a person says it.
 *
 * @example
 * formatDuration(2.5); // "2.5 s"
 * formatDuration(184); // "3 min 04 s"
 * formatDuration(3720); // "1 h 02 min"
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return DASH;
  }
  const s = Math.max(0, seconds);
  if (s < 10) {
    // Rounded first so that 9.97 s reads "10 s", not "10.0 s".
    const tenths = Math.round(s * 10) / 10;
    if (tenths < 10) {
      return `${tenths.toFixed(1)} s`;
    }
  }
  const whole = Math.round(s);
  if (whole < 60) {
    return `${whole} s`;
  }
  if (whole < 3600) {
    const minutes = Math.floor(whole / 60);
    return `${minutes} min ${pad2(whole % 60)} s`;
  }
  const totalMinutes = Math.round(s / 60);
  const hours = Math.floor(totalMinutes / 60);
  return `${hours} h ${pad2(totalMinutes % 60)} min`;
}

/**
 * A whole count with thousands separators, e.g. a parameter count.
 *
 * @example
 * formatCount(1234567); // "1,234,567"
 */
export function formatCount(count: number | null | undefined): string {
  if (count === null || count === undefined || !Number.isFinite(count)) {
    return DASH;
  }
  const digits = String(Math.round(Math.abs(count)));
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return count < 0 ? `-${grouped}` : grouped;
}

/**
 * An ISO time stamp in the reader's local time, "YYYY-MM-DD HH:MM:SS".
 * Unparseable stamps are shown as they arrived.
 */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) {
    return DASH;
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  const day = `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}`;
  const time = `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
  return `${day} ${time}`;
}

/** Any JSON value as short text for a table cell. */
export function formatCell(value: unknown): string {
  if (value === null || value === undefined) {
    return DASH;
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : formatValue(value);
  }
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  }
  return describeConfig(value);
}

/**
 * A saved Keras-style object ({class_name, config}) as a call, its null
 * arguments and its name left out; lists and plain objects likewise, nested.
 *
 * @example
 * describeConfig({ class_name: 'Adam', config: { name: 'adam', learning_rate: 0.003, clipnorm: null } });
 * // "Adam(learning_rate=0.003)"
 */
export function describeConfig(value: unknown): string {
  if (value === null || value === undefined) {
    return 'None';
  }
  if (Array.isArray(value)) {
    return `[${value.map(describeConfig).join(', ')}]`;
  }
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.class_name === 'string') {
      const config = record.config;
      const args =
        typeof config === 'object' && config !== null && !Array.isArray(config)
          ? Object.entries(config as Record<string, unknown>)
              .filter(([key, v]) => key !== 'name' && v !== null && v !== undefined)
              .map(([key, v]) => `${key}=${describeConfig(v)}`)
          : config === null || config === undefined
            ? []
            : [describeConfig(config)];
      return `${record.class_name}(${args.join(', ')})`;
    }
    const entries = Object.entries(record).map(([key, v]) => `${key}: ${describeConfig(v)}`);
    return `{${entries.join(', ')}}`;
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : formatValue(value);
  }
  return String(value);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
