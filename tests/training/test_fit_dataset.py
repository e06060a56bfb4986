"""fit / evaluate / predict with a workbench.data.Dataset."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import workbench as wb
from workbench import layers
from workbench.data import Dataset
from workbench.training import checkpoints
from workbench.training import data as data_mod
from workbench.training.checkpoint_callbacks import BackupAndRestore
from workbench.training.checkpoints import variable_order


def _model(seed=0):
    wb.utils.set_random_seed(seed)
    model = wb.Sequential([layers.Input((8,)), layers.Dense(16, activation="relu", name="hidden"),
                           layers.Dropout(0.2, name="drop"), layers.Dense(3, name="logits")], name="clf")
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def _data(n=200):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, ((x[:, 0] > 0).astype("int32") + (x[:, 1] > 1)).astype("int32")


def test_a_dataset_trains_exactly_as_the_same_arrays_do():
    x, y = _data()
    by_arrays = _model()
    by_arrays.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    by_dataset = _model()
    history = by_dataset.fit(Dataset.from_tensor_slices((x, y)).batch(32), epochs=2, verbose=0)
    for a, b in zip(by_arrays.get_weights(), by_dataset.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(history.history["loss"]) == 2
    logs = by_dataset.evaluate(Dataset.from_tensor_slices((x, y)).batch(64), return_dict=True, verbose=0)
    assert logs == by_arrays.evaluate(x, y, batch_size=64, return_dict=True, verbose=0)
    predicted = by_dataset.predict(Dataset.from_tensor_slices(x).batch(64), verbose=0)
    np.testing.assert_allclose(predicted, by_dataset.predict(x, batch_size=64, verbose=0), rtol=0, atol=0)
    with_targets = by_dataset.predict(Dataset.from_tensor_slices((x, y)).batch(64), verbose=0)
    np.testing.assert_array_equal(with_targets, predicted)


def test_each_epoch_is_a_new_pass_that_reshuffles():
    x, y = _data(64)
    seen = []

    def record(features, label):
        seen.append(float(features[0]))
        return features, label

    model = _model()
    model.fit(Dataset.from_tensor_slices((x, y)).shuffle(64, seed=1).map(record).batch(64), epochs=2, verbose=0)
    # the first batch is also read once on its own to check the data before training
    first, second = seen[-128:-64], seen[-64:]
    assert sorted(first) == sorted(second) and first != second


def test_validation_data_can_be_a_dataset():
    x, y = _data()
    model = _model()
    history = model.fit(Dataset.from_tensor_slices((x, y)).batch(32), epochs=1, verbose=0,
                        validation_data=Dataset.from_tensor_slices((x[:50], y[:50])).batch(16))
    expected = model.evaluate(x[:50], y[:50], batch_size=16, return_dict=True, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"], rel=1e-6)


class _Crash(wb.callbacks.Callback):
    def __init__(self, at_step):
        super().__init__()
        self.at_step = at_step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model._train_state["step"]) >= self.at_step:
            raise RuntimeError("simulated crash")


def _stream():
    """An endless stream: epochs continue where the last one stopped, so only a saved position resumes it."""
    x, y = _data()
    return (Dataset.from_generator(lambda: zip(x, y)).repeat().shuffle(50, seed=2)
            .random_map(lambda f, label, rng: (f + rng.normal(0, 0.1, 8).astype("float32"), label), seed=3)
            .batch(10))


def test_a_continuing_stream_resumes_at_the_saved_position(tmp_path):
    reference = _model()
    reference.fit(_stream(), epochs=3, steps_per_epoch=7, verbose=0)
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _model().fit(_stream(), epochs=3, steps_per_epoch=7, verbose=0,
                     callbacks=[BackupAndRestore(backup, save_freq=4), _Crash(13)])
    _, record = checkpoints.TrainCheckpointer(backup).restore(_template(), variable_order(_model()))
    assert record["data"]["pass"] == 0 and record["data"]["position"]
    resumed = _model(seed=9)
    resumed.fit(_stream(), epochs=3, steps_per_epoch=7, verbose=0, callbacks=[BackupAndRestore(backup)])
    for a, b in zip(reference.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def _template():
    model = _model()
    model.fit(*_data(10), epochs=1, verbose=0)
    return model._train_state


def test_a_map_that_raises_mid_fit_surfaces_and_leaves_the_last_checkpoint_intact(tmp_path):
    x, y = _data()

    def fragile(features, label):
        if features[0] == x[150, 0]:
            raise ValueError("cannot decode record 150")
        return features, label

    backup = tmp_path / "backup"
    model = _model()
    with pytest.raises(ValueError, match="cannot decode record 150") as info:
        model.fit(Dataset.from_tensor_slices((x, y)).map(fragile).batch(10), epochs=1, verbose=0,
                  callbacks=[BackupAndRestore(backup, save_freq=5)])
    assert any(entry.name == "fragile" for entry in info.traceback)
    ckpt = checkpoints.TrainCheckpointer(backup)
    state, record = ckpt.restore(model._train_state, variable_order(model))
    # every batch before the failing one was trained on, and the checkpoint after them (step 15) is whole
    assert record["position"]["step"] == 15 and int(state["step"]) == 15
    # Training resumes from it (with the record mended) and ends where an unbroken run ends.
    reference = _model()
    reference.fit(Dataset.from_tensor_slices((x, y)).batch(10), epochs=1, verbose=0)
    resumed = _model(seed=4)
    resumed.fit(Dataset.from_tensor_slices((x, y)).batch(10), epochs=1, verbose=0,
                callbacks=[BackupAndRestore(backup)])
    for a, b in zip(reference.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_dataset_arguments_are_refused_clearly():
    x, y = _data(20)
    ds = Dataset.from_tensor_slices((x, y)).batch(5)
    model = _model()
    with pytest.raises(ValueError, match="batch_size=5 was given with a Dataset"):
        model.fit(ds, batch_size=5, verbose=0)
    with pytest.raises(ValueError, match="y and sample_weight must be None"):
        model.fit(ds, y, verbose=0)
    with pytest.raises(ValueError, match="infinite .* pass steps_per_epoch"):
        model.fit(ds.repeat(), verbose=0)
    with pytest.raises(ValueError, match="The Dataset is empty"):
        model.fit(ds.take(0), verbose=0)


def test_a_stream_that_runs_out_stops_training_with_a_warning():
    x, y = _data(40)
    model = _model()
    with pytest.warns(UserWarning, match="ran out of data after 2 of the 3 steps of epoch 1"):
        history = model.fit(Dataset.from_tensor_slices((x, y)).batch(8), epochs=4, steps_per_epoch=3, verbose=0)
    assert len(history.history["loss"]) == 2


def test_each_process_reads_its_own_share_of_the_batches(monkeypatch):
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    monkeypatch.setattr(jax, "process_index", lambda: 1)
    source = data_mod.DatasetBatches(Dataset.range(10).batch(2))
    assert [b["x"].tolist() for b in source.epoch(0)] == [[2, 3], [6, 7]]
    by_hand = data_mod.DatasetBatches(Dataset.range(10).shard(2, 0).batch(2))
    batches = list(by_hand.epoch(0))
    # The short last batch is filled by repeating its real rows and masked down to them.
    assert [b["x"].tolist() for b in batches] == [[0, 2], [4, 6], [8, 8]]
    assert batches[-1]["mask"].tolist() == [1.0, 0.0]
