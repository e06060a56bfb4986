// The browser's copy of a dashboard's series: downsampled curves and distributions,
// kept up to date from snapshots (the `_snapshot` trait) and deltas (custom messages).
// The wire format is written by workbench/viz/series.py.

const SNAPSHOT_MAGIC = "WBS1";

// {buffer, offset, length} of an ArrayBuffer, a typed array or a DataView.
function bytesOf(data) {
  if (data instanceof ArrayBuffer) return { buffer: data, offset: 0, length: data.byteLength };
  return { buffer: data.buffer, offset: data.byteOffset, length: data.byteLength };
}

// Copies, so that the arrays are aligned whatever the offset of the message's buffer.
function readArray(bytes, pos, Type, count) {
  const start = bytes.offset + pos;
  return Array.from(new Type(bytes.buffer.slice(start, start + count * Type.BYTES_PER_ELEMENT)));
}

export function decodeSnapshot(data) {
  if (!data) return null;
  const bytes = bytesOf(data);
  if (bytes.length < 8) return null;
  const head = new Uint8Array(bytes.buffer, bytes.offset, bytes.length);
  if (String.fromCharCode(...head.subarray(0, 4)) !== SNAPSHOT_MAGIC) return null;
  const length = new DataView(bytes.buffer, bytes.offset + 4, 4).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(head.subarray(8, 8 + length)));
  const start = 8 + length + ((8 - ((8 + length) % 8)) % 8);
  return { header, body: new Uint8Array(bytes.buffer, bytes.offset + start, bytes.length - start) };
}

// Each header entry with its columns: step (float64), epoch and `width` values (float32) per point.
export function decodeEntries(header, body) {
  const bytes = body ? bytesOf(body) : { buffer: new ArrayBuffer(0), offset: 0, length: 0 };
  let pos = 0;
  const read = (entries, section) =>
    (entries || []).map((entry) => {
      const width = section === "curves" ? 1 : entry.width;
      const k = entry.count;
      const step = readArray(bytes, pos, Float64Array, k);
      pos += 8 * k;
      const epoch = readArray(bytes, pos, Float32Array, k);
      pos += 4 * k;
      const flat = readArray(bytes, pos, Float32Array, k * width);
      pos += 4 * k * width;
      const values = [];
      for (let j = 0; j < width; j++) values.push(flat.filter((_, i) => i % width === j));
      return { entry, step, epoch, values };
    });
  const curves = read(header.curves, "curves");
  const dists = read(header.dists, "dists");
  return { curves, dists };
}

function replaced({ entry, step, epoch, values }) {
  const { key, split, name, level, n, b } = entry;
  return { key, split, name, level, n, b, step, epoch, values };
}

export class SeriesStore {
  constructor() {
    this.curves = new Map();
    this.dists = new Map();
    this.synced = false; // true once a full delta arrived: later deltas then apply on top
    this.listeners = new Set();
  }

  notify() {
    for (const listener of this.listeners) listener();
  }

  // Snapshots build the copy until deltas take over (a saved notebook shows the last snapshot); then
  // they are ignored, since the deltas are at least as recent. Within a snapshot, a series replaces
  // the one held only where it is further along.
  applySnapshot(data) {
    const decoded = this.synced ? null : decodeSnapshot(data);
    if (!decoded) return;
    const { curves, dists } = decodeEntries(decoded.header, decoded.body);
    let changed = false;
    for (const [map, items] of [[this.curves, curves], [this.dists, dists]]) {
      for (const item of items) {
        const held = map.get(item.entry.key);
        if (!held || item.entry.n > held.n) {
          map.set(item.entry.key, replaced(item));
          changed = true;
        }
      }
    }
    if (changed) this.notify();
  }

  // Returns false when a delta does not fit what is held: the sender should then resend everything.
  applyDelta(header, body) {
    const { curves, dists } = decodeEntries(header, body);
    if (header.full) this.synced = true;
    else if (!this.synced) return true;
    let fits = true;
    for (const [map, items] of [[this.curves, curves], [this.dists, dists]]) {
      for (const item of items) {
        const { entry } = item;
        const held = map.get(entry.key);
        if (entry.offset === 0) {
          map.set(entry.key, replaced(item));
        } else if (held && held.b === entry.b && held.step.length >= entry.offset) {
          held.step.length = entry.offset;
          held.epoch.length = entry.offset;
          held.step.push(...item.step);
          held.epoch.push(...item.epoch);
          held.values.forEach((column, j) => {
            column.length = entry.offset;
            column.push(...item.values[j]);
          });
          held.n = entry.n;
        } else {
          fits = false;
        }
      }
    }
    this.notify();
    return fits;
  }
}
