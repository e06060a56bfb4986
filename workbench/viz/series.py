"""Full-resolution series kept in Python, and the downsampled view of them the browser holds.

A curve keeps every point it is fed. What the browser draws is at most `cap`
points: buckets of `b` consecutive points (b a power of two, grown as the curve
grows) each shown by their minimum and maximum, so spikes survive downsampling.
The browser's copy is brought up to date with deltas: "keep your first `offset`
points, then append these". Buckets already complete never change, so a delta
only carries the last, still-filling bucket and the new ones; when `b` doubles
the whole curve is sent again (offset 0), which happens O(log n) times.

Wire format (shared with `static/series_store.js`): a JSON header listing the
series, and one little-endian body holding, per series in header order, the
steps (float64), epochs (float32) and values (float32, `width` per point).
"""

from __future__ import annotations

import json
import struct

import numpy as np

SNAPSHOT_MAGIC = b"WBS1"


def bucket_size(n: int, cap: int, per_bucket: int) -> int:
    """The smallest power of two `b` such that `n` points in buckets of `b` show as at most `cap` points."""
    if n <= cap:
        return 1
    b = 2
    while per_bucket * -(-n // b) > cap:
        b *= 2
    return b


class SeriesBuffer:
    """One growing series: step, epoch and wall time per point, and `width` values per point.

    `decimate="minmax"` keeps each bucket's extremes of the (single) value; `"first"` keeps
    each bucket's first point (for distributions, whose 9 values travel together).
    """

    def __init__(self, width: int = 1, decimate: str = "minmax"):
        if decimate not in ("minmax", "first"):
            raise ValueError(f"decimate must be 'minmax' or 'first', got {decimate!r}.")
        self.width, self.decimate = width, decimate
        self.n = 0
        self._step = np.zeros(64, np.float64)
        self._epoch = np.zeros(64, np.float64)
        self._wall = np.zeros(64, np.float64)
        self._values = np.zeros((64, width), np.float64)
        # What the browser holds: its bucket size, and how many raw / shown points its complete buckets cover.
        self._sent_b = 0
        self._sent_raw = 0
        self._sent_shown = 0
        self._sent_n = 0

    def append(self, step: float, epoch: float, wall: float, values) -> None:
        if self.n == len(self._step):
            grow = len(self._step)
            self._step = np.concatenate([self._step, np.zeros(grow)])
            self._epoch = np.concatenate([self._epoch, np.zeros(grow)])
            self._wall = np.concatenate([self._wall, np.zeros(grow)])
            self._values = np.concatenate([self._values, np.zeros((grow, self.width))])
        i = self.n
        self._step[i], self._epoch[i], self._wall[i] = step, epoch, wall
        self._values[i] = values
        self.n += 1

    def extend(self, steps, epochs, walls, values) -> None:
        """Append many points at once (values: one per point, or (n, width))."""
        k = len(steps)
        if not k:
            return
        need = self.n + k
        if need > len(self._step):
            size = max(need, 2 * len(self._step))
            grow = size - len(self._step)
            self._step = np.concatenate([self._step, np.zeros(grow)])
            self._epoch = np.concatenate([self._epoch, np.zeros(grow)])
            self._wall = np.concatenate([self._wall, np.zeros(grow)])
            self._values = np.concatenate([self._values, np.zeros((grow, self.width))])
        i = self.n
        self._step[i:need], self._epoch[i:need], self._wall[i:need] = steps, epochs, walls
        self._values[i:need] = np.asarray(values, np.float64).reshape(k, self.width)
        self.n = need

    def arrays(self) -> dict[str, np.ndarray]:
        """Copies of every point fed so far: step, epoch, wall and value (n,) or values (n, width)."""
        values = self._values[: self.n]
        return {
            "step": self._step[: self.n].copy(),
            "epoch": self._epoch[: self.n].copy(),
            "wall": self._wall[: self.n].copy(),
            "value" if self.width == 1 else "values": (values[:, 0] if self.width == 1 else values).copy(),
        }

    @property
    def per_bucket(self) -> int:
        return 2 if self.decimate == "minmax" else 1

    def _indices(self, start: int, b: int) -> tuple[np.ndarray, int, int]:
        """Shown indices for raw points [start, n) in buckets of b (start is a bucket boundary).

        Returns the indices, and how many raw and shown points the complete buckets among them cover.
        """
        n = self.n
        if b == 1:
            idx = np.arange(start, n)
            return idx, n - start, n - start
        complete = (n - start) // b
        stop = start + complete * b
        if self.decimate == "first":
            idx = np.arange(start, n, b)
            return idx, complete * b, complete
        v = self._values[:n, 0]
        blocks = v[start:stop].reshape(complete, b)
        lo = np.argmin(np.where(np.isnan(blocks), np.inf, blocks), axis=1)
        hi = np.argmax(np.where(np.isnan(blocks), -np.inf, blocks), axis=1)
        base = start + np.arange(complete) * b
        pairs = np.stack([np.minimum(lo, hi), np.maximum(lo, hi)], axis=1) + base[:, None]
        keep = np.ones(pairs.shape, bool)
        keep[:, 1] = pairs[:, 1] != pairs[:, 0]
        full = pairs[keep]
        if stop < n:
            tail = v[stop:n]
            a = stop + int(np.argmin(np.where(np.isnan(tail), np.inf, tail)))
            z = stop + int(np.argmax(np.where(np.isnan(tail), -np.inf, tail)))
            last = [min(a, z)] if a == z else [min(a, z), max(a, z)]
            return np.concatenate([full, last]).astype(np.int64), complete * b, full.size
        return full.astype(np.int64), complete * b, full.size

    def shown(self, cap: int) -> tuple[int, np.ndarray]:
        """(b, indices) of the whole series downsampled to at most `cap` points; the browser's state is untouched."""
        b = bucket_size(self.n, cap, self.per_bucket)
        return b, self._indices(0, b)[0]

    def take_delta(self, cap: int, full: bool = False):
        """What the browser lacks, as (offset, b, indices), and records it as sent; None when up to date."""
        b = bucket_size(self.n, cap, self.per_bucket)
        if full or b != self._sent_b:
            self._sent_b, self._sent_raw, self._sent_shown = b, 0, 0
        elif self.n == self._sent_n:
            return None
        idx, raw, shown = self._indices(self._sent_raw, b)
        offset = self._sent_shown
        self._sent_raw += raw
        self._sent_shown += shown
        self._sent_n = self.n
        return offset, b, idx

    def columns(self, idx: np.ndarray) -> list[bytes]:
        """The wire columns of the points `idx`: steps float64, epochs float32, values float32."""
        return [
            self._step[idx].astype("<f8").tobytes(),
            self._epoch[idx].astype("<f4").tobytes(),
            self._values[idx].astype("<f4").tobytes(),
        ]


def encode_snapshot(header: dict, body: bytes) -> bytes:
    """One self-describing blob (for a Bytes trait): magic, header length, JSON header, padding, body."""
    text = json.dumps(header, separators=(",", ":")).encode()
    pad = (-(len(SNAPSHOT_MAGIC) + 4 + len(text))) % 8
    return SNAPSHOT_MAGIC + struct.pack("<I", len(text)) + text + b" " * pad + body


def decode_snapshot(blob: bytes) -> tuple[dict, bytes]:
    """The (header, body) of a blob from `encode_snapshot`."""
    blob = bytes(blob)
    if not blob:
        return {"curves": [], "dists": []}, b""
    if blob[:4] != SNAPSHOT_MAGIC:
        raise ValueError(f"Not a dashboard snapshot: starts with {blob[:4]!r}, expected {SNAPSHOT_MAGIC!r}.")
    (length,) = struct.unpack("<I", blob[4:8])
    header = json.loads(blob[8 : 8 + length])
    start = 8 + length + (-(8 + length)) % 8
    return header, blob[start:]


def decode_body(header: dict, body: bytes) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Arrays of every series in a header/body pair: {"curves": {key: {step, epoch, value}}, "dists": {...}}."""
    body = memoryview(bytes(body))
    out: dict = {"curves": {}, "dists": {}}
    pos = 0
    for section, width in (("curves", 1), ("dists", None)):
        for entry in header.get(section, []):
            w = width or entry["width"]
            k = entry["count"]
            step = np.frombuffer(body[pos : pos + 8 * k], "<f8")
            pos += 8 * k
            epoch = np.frombuffer(body[pos : pos + 4 * k], "<f4")
            pos += 4 * k
            values = np.frombuffer(body[pos : pos + 4 * k * w], "<f4").reshape(k, w)
            pos += 4 * k * w
            out[section][entry["key"]] = {
                "step": step,
                "epoch": epoch,
                "value": values[:, 0] if width == 1 else values,
            }
    if pos != len(body):
        raise ValueError(f"The body holds {len(body)} bytes but the header describes {pos}.")
    return out
