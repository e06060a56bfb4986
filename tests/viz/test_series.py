"""Downsampled display of long curves, and the binary wire format, in Python and in the browser's code."""

import base64

import numpy as np
import pytest

from workbench.viz.series import SeriesBuffer, bucket_size, decode_body, decode_snapshot, encode_snapshot


def fill(n, seed=0):
    buf = SeriesBuffer()
    values = np.random.default_rng(seed).normal(size=n).cumsum()
    for i, v in enumerate(values):
        buf.append(i, i // 1000, 1000.0 + i, v)
    return buf, values


def test_bucket_size_keeps_display_within_cap():
    for n in (0, 1, 2000, 2001, 4001, 100_000, 10**7):
        b = bucket_size(n, 2000, 2)
        assert 2 * -(-n // b) <= 2000 or b == 1 and n <= 2000
        assert b == 1 or 2 * -(-n // (b // 2)) > 2000  # the smallest such power of two


def test_minmax_keeps_every_bucket_extreme():
    buf, values = fill(10_000)
    b, idx = buf.shown(500)
    assert idx.size <= 500 and np.all(np.diff(idx) > 0)
    for start in range(0, 10_000, b):
        block = values[start : start + b]
        shown = values[idx[(idx >= start) & (idx < start + b)]]
        assert block.max() in shown and block.min() in shown


def test_nan_and_inf_survive_downsampling():
    buf = SeriesBuffer()
    for i in range(5000):
        buf.append(i, 0, 0.0, np.nan if i == 1234 else np.inf if i == 4321 else 1.0 / (i + 1))
    _, idx = buf.shown(100)
    assert 4321 in idx  # the spike is a bucket maximum
    assert buf.arrays()["value"].size == 5000


class BrowserCopy:
    """What series_store.js does with deltas, for one curve."""

    def __init__(self):
        self.b, self.step, self.value = None, [], []

    def apply(self, offset, b, step, value):
        if offset:
            assert b == self.b and len(self.step) >= offset
        self.b = b
        self.step = self.step[:offset] + list(step)
        self.value = self.value[:offset] + list(value)


def test_100k_points_fed_in_chunks_stay_within_cap_and_end_exact():
    cap = 2000
    buf = SeriesBuffer()
    copy = BrowserCopy()
    rng = np.random.default_rng(1)
    values = rng.normal(size=100_000).cumsum()
    sizes_sent = []
    i = 0
    while i < values.size:
        for _ in range(int(rng.integers(1, 700))):
            if i == values.size:
                break
            buf.append(i, 0, 0.0, values[i])
            i += 1
        offset, b, idx = buf.take_delta(cap)
        sizes_sent.append(idx.size)
        copy.apply(offset, b, buf._step[idx], buf._values[idx, 0])
        assert len(copy.step) <= cap
    b, idx = buf.shown(cap)
    assert copy.b == b and copy.step == buf._step[idx].tolist() and copy.value == buf._values[idx, 0].tolist()
    assert np.array_equal(buf.arrays()["value"], values)  # the full data is intact
    # Deltas are small: only the resends after a bucket doubling carry a whole curve.
    assert sum(sizes_sent) < 20 * cap


def test_snapshot_blob_round_trip():
    buf, values = fill(3000)
    b, idx = buf.shown(1000)
    header = {
        "curves": [{"key": "step:train/loss", "n": buf.n, "b": b, "offset": 0, "count": int(idx.size)}],
        "dists": [],
    }
    dist = SeriesBuffer(width=9, decimate="first")
    for i in range(7):
        dist.append(i * 10, i, 0.0, np.linspace(-1, 1, 9) * (i + 1))
    db, didx = dist.shown(250)
    header["dists"].append(
        {"key": "weights/k", "width": 9, "n": 7, "b": db, "offset": 0, "count": int(didx.size)}
    )
    blob = encode_snapshot(header, b"".join(buf.columns(idx) + dist.columns(didx)))
    got_header, body = decode_snapshot(blob)
    assert got_header == header
    out = decode_body(got_header, body)
    curve = out["curves"]["step:train/loss"]
    np.testing.assert_array_equal(curve["step"], idx.astype(float))
    np.testing.assert_array_equal(curve["value"], values[idx].astype(np.float32))
    np.testing.assert_array_equal(
        out["dists"]["weights/k"]["value"][3], (np.linspace(-1, 1, 9) * 4).astype(np.float32)
    )
    with pytest.raises(ValueError, match="Not a dashboard snapshot"):
        decode_snapshot(b"JUNK" + blob[4:])


def test_the_browser_store_applies_python_deltas_and_snapshots(run_node):
    """series_store.js, fed Python's deltas and a snapshot, holds exactly Python's downsampled curve."""
    cap = 300
    buf = SeriesBuffer()
    rng = np.random.default_rng(2)
    messages = []
    for round_ in range(40):
        for _ in range(int(rng.integers(1, 200))):
            buf.append(buf.n, buf.n // 100, 0.0, rng.normal())
        offset, b, idx = buf.take_delta(cap, full=round_ == 0)
        header = {
            "type": "delta",
            "seq": round_ + 1,
            "full": round_ == 0,
            "dists": [],
            "curves": [
                {
                    "key": "k",
                    "split": "train",
                    "name": "loss",
                    "level": "step",
                    "n": buf.n,
                    "b": b,
                    "offset": offset,
                    "count": int(idx.size),
                }
            ],
        }
        messages.append({"header": header, "body": base64.b64encode(b"".join(buf.columns(idx))).decode()})
    b, idx = buf.shown(cap)
    snap = encode_snapshot(
        {
            "curves": [
                {
                    "key": "other",
                    "split": "val",
                    "name": "loss",
                    "level": "epoch",
                    "n": buf.n,
                    "b": b,
                    "offset": 0,
                    "count": int(idx.size),
                }
            ],
            "dists": [],
        },
        b"".join(buf.columns(idx)),
    )
    script = """
import { SeriesStore } from "./series_store.mjs";
import { readFileSync } from "node:fs";
const { messages, snapshot } = JSON.parse(readFileSync("payload.json", "utf8"));
const bytes = (b64) => { const raw = Buffer.from(b64, "base64"); const padded = new Uint8Array(raw.length + 3);
  padded.set(raw, 3); return new DataView(padded.buffer, 3, raw.length); };  // unaligned, as widgets deliver
const store = new SeriesStore();
const fits = messages.map(({ header, body }) => store.applyDelta(header, bytes(body)));
store.applySnapshot(bytes(snapshot));  // ignored: the deltas are at least as recent
const offline = new SeriesStore();  // a saved notebook: the snapshot alone
offline.applySnapshot(bytes(snapshot));
const out = {};
for (const s of [store, offline]) {
  for (const [key, c] of s.curves) out[key] = { n: c.n, b: c.b, step: c.step, epoch: c.epoch, value: c.values[0] };
}
console.log(JSON.stringify({ fits, out, keys: [[...store.curves.keys()], [...offline.curves.keys()]] }));
"""
    result = run_node(script, {"messages": messages, "snapshot": base64.b64encode(snap).decode()})
    assert all(result["fits"])
    assert result["keys"] == [["k"], ["other"]]
    for key in ("k", "other"):
        got = result["out"][key]
        assert got["n"] == buf.n and got["b"] == b
        assert got["step"] == buf._step[idx].tolist()
        assert got["epoch"] == buf._epoch[idx].astype(np.float32).tolist()
        np.testing.assert_array_equal(np.float32(got["value"]), buf._values[idx, 0].astype(np.float32))
