"""Fit's step-time breakdown, its compilation log with causes, and the train step's memory analysis."""

import json
import time
import warnings

import numpy as np
import pytest

import workbench as wb
from workbench import layers
from workbench.profiling import device_memory, timing, train_step_memory


def _mlp():
    model = wb.Sequential([layers.Dense(16, activation="relu", input_shape=(8,)), layers.Dense(2)])
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _arrays(n=256, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, 8)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32")


class _SlowBatches:
    """An iterable of batches that takes `delay` seconds to produce each one (a slow input pipeline)."""

    def __init__(self, batches, delay):
        self.batches, self.delay = batches, delay

    def __iter__(self):
        for batch in self.batches:
            time.sleep(self.delay)
            yield batch


class _SlowCallback(wb.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.03)


def _largest(record, leave_out=("compile",)):
    seconds = {k: v for k, v in record["seconds"].items() if k not in leave_out}
    return max(seconds, key=seconds.get)


def test_a_slow_input_pipeline_shows_as_data_wait():
    x, y = _arrays()
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    model = _mlp()
    model.fit(_SlowBatches(batches, 0.03), epochs=2, verbose=0, log=False)
    last = model.fit_profile["steps"][-1]  # the first epoch also compiles
    assert last["steps"] == 8 and _largest(last) == "data_wait", last
    assert last["seconds"]["data_wait"] >= 0.5 * 8 * 0.03


def test_a_slow_callback_shows_as_callbacks():
    x, y = _arrays()
    model = _mlp()
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True), steps_per_execution=1)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, log=False, callbacks=[_SlowCallback()])
    last = model.fit_profile["steps"][-1]
    assert _largest(last) == "callbacks", last
    assert last["seconds"]["callbacks"] >= 8 * 0.03
    assert abs(sum(last["seconds"].values()) - last["elapsed"]) < 1e-3  # the categories share out the time


def test_checkpoints_are_their_own_category(tmp_path):
    x, y = _arrays()
    model = _mlp()
    checkpoint = wb.callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch}.weights.h5"), save_weights_only=True)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, log=False, callbacks=[checkpoint])
    last = model.fit_profile["steps"][-1]
    assert last["seconds"]["checkpoint"] > 0 and (tmp_path / "m-2.weights.h5").exists()


def test_a_batch_shape_change_is_logged_with_its_cause_and_warned_about_when_it_repeats(tmp_path):
    rng = np.random.default_rng(0)

    def batch(length):
        x = rng.integers(0, 50, (16, length)).astype("int32")
        return x, (x[:, 0] > 25).astype("int32")

    tokens = wb.Input((None,), dtype="int32")
    model = wb.Model(tokens, layers.Dense(2)(layers.GlobalAveragePooling1D()(layers.Embedding(50, 8)(tokens))))
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True), steps_per_execution=1)
    data = [batch(10)] * 3 + [batch(20)] * 3 + [batch(30)] * 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(iter(data), epochs=1, verbose=0, run_dir=str(tmp_path / "run"))
    train = [r for r in model.fit_profile["compiles"] if r["function"] == "train step"]
    assert [r["cause"] for r in train] == [
        "first call",
        "batch['x']: shape (1, 16, 10) -> (1, 16, 20)",
        "batch['x']: shape (1, 16, 20) -> (1, 16, 30)",
    ]
    assert [r["step"] for r in train] == [0, 3, 6] and all(r["seconds"] > 0 for r in train)
    repeated = [w for w in caught if issubclass(w.category, timing.RecompilationWarning)]
    assert len(repeated) == 1 and "compiled 3 times" in str(repeated[0].message)
    written = [json.loads(line) for line in (tmp_path / "run" / "profile" / "compiles.jsonl").open()]
    assert [r["cause"] for r in written if r["function"] == "train step"] == [r["cause"] for r in train]
    steps = [json.loads(line) for line in (tmp_path / "run" / "profile" / "steps.jsonl").open()]
    assert len(steps) == 1 and steps[0]["seconds"]["compile"] >= sum(r["seconds"] for r in train)


def test_the_automatic_steps_per_dispatch_recompile_is_named_as_such():
    x, y = _arrays(512)
    model = _mlp()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, log=False)
    causes = [r["cause"] for r in model.fit_profile["compiles"] if r["function"] == "train step"]
    assert causes[0] == "first call" and causes[1].startswith("steps per dispatch: 1 -> ")


def test_step_timing_can_be_turned_off():
    x, y = _arrays()
    model = _mlp()
    timing.set_enabled(False)
    try:
        model.fit(x, y, batch_size=32, epochs=1, verbose=0, log=False)
    finally:
        timing.set_enabled(None)
    assert model.fit_profile["steps"] == [] and model.fit_profile["compiles"]


def test_nested_spans_count_once():
    timer = timing.StepTimer()
    with timer.measure("callbacks"):
        time.sleep(0.02)
        with timer.measure("checkpoint"):
            time.sleep(0.03)
        time.sleep(0.01)
        timer.add("data_wait", 0.01)  # measured elsewhere (the input pipeline's queue) but spent in this span
    record = timer.take()
    s = record["seconds"]
    assert s["checkpoint"] >= 0.03 and 0.02 <= s["callbacks"] < 0.03 and s["data_wait"] == 0.01
    assert abs(sum(s.values()) - record["elapsed"]) < 1e-3


def test_causes_in_words():
    before = timing.signature(({"w": np.zeros((3, 4), "float32")}, np.zeros((2, 8), "float32")))
    dtype = timing.signature(({"w": np.zeros((3, 4), "float16")}, np.zeros((2, 8), "float32")))
    leading = timing.signature(({"w": np.zeros((3, 4), "float32")}, np.zeros((5, 8), "float32")))
    structure = timing.signature(({"w": np.zeros((3, 4), "float32")},))
    names = ("params", "x")
    assert timing.cause(None, before) == "first call"
    assert timing.cause(before, dtype, names) == "params['w']: dtype float32 -> float16"
    assert timing.cause(before, leading, names) == "x: shape (2, 8) -> (5, 8)"
    assert timing.cause(before, leading, names, axis0="steps") == "steps: 2 -> 5"
    assert timing.cause(before, structure) == "the arguments' structure changed"
    assert timing.cause(before, before).startswith("same shapes and dtypes")


def test_train_step_memory_accounts_for_the_activations():
    x, y = _arrays()
    small = train_step_memory(_mlp(), x, y, batch_size=16)
    large = train_step_memory(_mlp(), x, y, batch_size=256)
    for m in (small, large):
        assert m["arguments"] > 0 and m["outputs"] > 0 and m["platform"] == "cpu"
        assert m["peak_estimate"] == m["arguments"] + m["outputs"] - m["aliased"] + m["temporaries"]
    assert (large["batch_size"], small["batch_size"]) == (256, 16)
    # The batch is an argument: 240 more samples of 8 float32 features and an int32 label, at least.
    assert large["arguments"] - small["arguments"] >= 240 * (8 * 4 + 4)
    assert large["temporaries"] > small["temporaries"]


def test_train_step_memory_needs_a_compiled_model():
    model = wb.Sequential([layers.Dense(2, input_shape=(8,))])
    with pytest.raises(RuntimeError, match="must be compiled"):
        train_step_memory(model, *_arrays())


def test_device_memory_is_none_where_the_backend_does_not_report_it():
    stats = device_memory()
    assert stats is None or stats["bytes_in_use"] >= 0
