"""ReduceLROnPlateau, LearningRateScheduler and CSVLogger: Keras' rules, the optimizer state they change, the file."""

import math
import types

import numpy as np
import pytest

import workbench
from workbench import layers
from workbench.callbacks import Callback, CSVLogger, LearningRateScheduler, ReduceLROnPlateau


def regression_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")
    return x, y


def compiled_model(optimizer=None, metrics=None):
    workbench.utils.set_random_seed(1)
    model = workbench.Sequential([workbench.Input((3,)), layers.Dense(1)])
    optimizer = optimizer or workbench.optimizers.SGD(learning_rate=0.1)
    model.compile(optimizer=optimizer, loss="mse", metrics=metrics, steps_per_execution=2)
    return model


class Recorder(Callback):
    """Placed after the callback under test: sees the logs it added and the weights after each epoch."""

    def __init__(self):
        super().__init__()
        self.logs, self.kernels = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs))
        self.kernels.append(np.array(self.model.get_weights()[0]))


def fit(model, callbacks, epochs, validation=True):
    x, y = regression_data()
    # Validation targets unrelated to x: val_loss cannot keep improving.
    xv, yv = regression_data(n=32, seed=5)
    yv = np.random.default_rng(9).normal(size=yv.shape).astype("float32")
    recorder = Recorder()
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=epochs,
        shuffle=False,
        verbose=0,
        validation_data=(xv, yv) if validation else None,
        callbacks=[*callbacks, recorder],
    )
    return history, recorder


def drive(callback, model, values, monitor="val_loss"):
    """Run the epoch-end hook on crafted logs; the learning rate after each epoch."""
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {monitor: value})
        rates.append(float(np.asarray(model.optimizer.learning_rate)))
    return rates


# ---------------------------------------------------------------------------- ReduceLROnPlateau

PLATEAU = [1.0, 0.9, 0.95, 0.9, 0.89995, 0.91, 0.5, 0.6, 0.7, 0.8, 0.9, 0.49, 0.495, 0.8, 0.9, 1.0, 1.1, 1.2]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(patience=2),
        dict(patience=1, cooldown=2),
        dict(patience=1, factor=0.5, min_lr=0.03),
        dict(patience=0, factor=0.2, min_delta=0.0),
        dict(patience=2, mode="max", cooldown=1),
    ],
    ids=["patience", "cooldown", "min_lr", "patience0", "max"],
)
def test_reduce_lr_on_plateau_follows_keras_rule(kwargs):
    keras = pytest.importorskip("keras")
    model = compiled_model()
    fit(model, [], epochs=1, validation=False)  # the optimizer is now bound to a live train state
    ours = drive(ReduceLROnPlateau(**kwargs), model, PLATEAU)

    # Keras' callback needs only `model.optimizer` for a loss monitor.
    reference = types.SimpleNamespace(optimizer=keras.optimizers.SGD(learning_rate=0.1))
    expected = drive(keras.callbacks.ReduceLROnPlateau(**kwargs), reference, PLATEAU)
    assert len(set(expected)) > 2  # the sequence really makes Keras reduce, more than once
    np.testing.assert_allclose(ours, expected, rtol=1e-6)


def test_reduce_lr_on_plateau_hand_computed_cooldown_and_min_lr(capsys):
    model = compiled_model()
    fit(model, [], epochs=1, validation=False)
    # patience 1, cooldown 2: a reduction, then one epoch in which nothing is counted (Keras counts
    # the cooldown down before it checks it); the rate stops at min_lr.
    flat = [1.0] * 8
    rates = drive(ReduceLROnPlateau(patience=1, cooldown=2, factor=0.5, min_lr=0.02, verbose=1), model, flat)
    np.testing.assert_allclose(rates, [0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02], rtol=1e-6)
    # Three reductions; at min_lr there is nothing left to reduce, so no fourth message.
    assert capsys.readouterr().out.count("ReduceLROnPlateau reducing learning rate to") == 3


def test_reduce_lr_on_plateau_in_fit_changes_the_optimizer_state_and_the_weights():
    # A min_delta no change reaches: epoch 0 sets the best, epochs 1-2 wait, the end of epoch 2
    # reduces; epochs 3-4 wait again and the end of epoch 4 reduces once more, for epoch 5 on.
    plateau = ReduceLROnPlateau(factor=0.1, patience=2, min_delta=100.0)
    model = compiled_model()
    _, with_cb = fit(model, [plateau], epochs=6)
    logged = [logs["learning_rate"] for logs in with_cb.logs]
    np.testing.assert_allclose(logged, [0.1, 0.1, 0.1, 0.01, 0.01, 0.001], rtol=1e-6)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3, rel=1e-6)

    _, without = fit(compiled_model(), [], epochs=6)
    for epoch in range(3):  # the same steps until the first reduction takes effect
        np.testing.assert_array_equal(with_cb.kernels[epoch], without.kernels[epoch])
    assert not np.allclose(with_cb.kernels[3], without.kernels[3], rtol=1e-4, atol=1e-6)

    def step(run, epoch):
        return np.abs(run.kernels[epoch] - run.kernels[epoch - 1]).max()

    # Each reduction shrinks the next epoch's steps (about 10x: the gradients change little).
    assert 0 < step(with_cb, 3) < 0.3 * step(without, 3)
    assert 0 < step(with_cb, 5) < 0.3 * step(with_cb, 4)


def test_reduce_lr_on_plateau_auto_mode_follows_the_metric_direction():
    def spread(y_true, y_pred):  # a custom metric: Keras cannot tell its direction
        return abs(y_pred - y_pred.mean())

    model = compiled_model(metrics=["mae", spread])
    fit(model, [], epochs=1, validation=False)
    rising = [0.1, 0.2, 0.3, 0.4]
    # mae goes down, so a rising mae is a plateau; accuracy-like metrics would go up.
    assert drive(ReduceLROnPlateau(monitor="val_mae", patience=1), model, rising, "val_mae")[-1] < 0.1
    model.optimizer.learning_rate = 0.1
    unchanged = drive(ReduceLROnPlateau(monitor="val_mae", patience=1, mode="max"), model, rising, "val_mae")
    assert unchanged == pytest.approx([0.1] * 4)
    with pytest.raises(ValueError, match="mode='max'"):
        drive(ReduceLROnPlateau(monitor="val_spread", patience=1), model, rising, monitor="val_spread")


def test_reduce_lr_on_plateau_argument_errors_and_missing_monitor_warning():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="'auto', 'min' or 'max'"):
        ReduceLROnPlateau(mode="lowest")
    model = compiled_model()
    with pytest.warns(UserWarning, match="`val_loss` which is not available"):
        _, recorder = fit(model, [ReduceLROnPlateau(patience=0)], epochs=2, validation=False)
    assert [logs["learning_rate"] for logs in recorder.logs] == pytest.approx([0.1, 0.1])


def test_reduce_lr_on_plateau_with_a_schedule_raises_type_error():
    schedule = workbench.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model = compiled_model(optimizer=workbench.optimizers.SGD(learning_rate=schedule))
    with pytest.raises(TypeError, match="schedule"):
        fit(model, [ReduceLROnPlateau(patience=0, min_delta=100.0)], epochs=3)


# ---------------------------------------------------------------------------- LearningRateScheduler


def decay_after_two(epoch, lr):
    return lr if epoch < 2 else lr * math.exp(-0.5)


def test_learning_rate_scheduler_gives_keras_rates():
    keras = pytest.importorskip("keras")
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, type(lr)))
        return decay_after_two(epoch, lr)

    model = compiled_model()
    _, recorder = fit(model, [LearningRateScheduler(schedule)], epochs=5)
    ours = [logs["learning_rate"] for logs in recorder.logs]
    assert seen == [(epoch, float) for epoch in range(5)]

    x, y = regression_data()
    reference = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    reference.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    history = reference.fit(
        x,
        y,
        batch_size=16,
        epochs=5,
        verbose=0,
        callbacks=[keras.callbacks.LearningRateScheduler(decay_after_two)],
    )
    expected = history.history["learning_rate"]
    assert expected[-1] < 0.05
    np.testing.assert_allclose(ours, expected, rtol=1e-7)
    assert float(model.optimizer.learning_rate) == pytest.approx(expected[-1], rel=1e-7)


def test_learning_rate_scheduler_zero_rate_freezes_the_weights():
    model = compiled_model(optimizer="adam")
    initial = np.array(model.get_weights()[0])
    _, recorder = fit(model, [LearningRateScheduler(lambda epoch, lr: 0.05 if epoch == 0 else 0.0)], epochs=3)
    assert not np.array_equal(recorder.kernels[0], initial)
    assert [logs["learning_rate"] for logs in recorder.logs] == [pytest.approx(0.05), 0.0, 0.0]
    np.testing.assert_array_equal(recorder.kernels[1], recorder.kernels[0])
    np.testing.assert_array_equal(recorder.kernels[2], recorder.kernels[0])
    # ...while the same run at the first epoch's rate keeps moving.
    _, moving = fit(
        compiled_model(optimizer="adam"), [LearningRateScheduler(lambda epoch, lr: 0.05)], epochs=2
    )
    np.testing.assert_array_equal(moving.kernels[0], recorder.kernels[0])
    assert not np.array_equal(moving.kernels[1], moving.kernels[0])


def test_learning_rate_scheduler_errors():
    with pytest.raises(ValueError, match="should be a float.*Got: 'fast'"):
        fit(compiled_model(), [LearningRateScheduler(lambda epoch, lr: "fast")], epochs=1)
    with pytest.raises(ValueError, match="should be a float.*Got: None"):
        fit(compiled_model(), [LearningRateScheduler(lambda epoch, lr: None)], epochs=1)
    schedule = workbench.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model = compiled_model(optimizer=workbench.optimizers.SGD(learning_rate=schedule))
    with pytest.raises(TypeError, match="LearningRateScheduler cannot set the learning rate.*schedule"):
        fit(model, [LearningRateScheduler(decay_after_two)], epochs=1)


def test_history_records_the_learning_rate_as_keras_does():
    # History comes after the user's callbacks, as in Keras, so it sees the rate they add.
    history, recorder = fit(compiled_model(), [LearningRateScheduler(decay_after_two)], epochs=3)
    assert history.history["learning_rate"] == [logs["learning_rate"] for logs in recorder.logs]
    assert history.history["learning_rate"][2] == pytest.approx(0.1 * math.exp(-0.5), rel=1e-6)


# ---------------------------------------------------------------------------- CSVLogger


def read_rows(path):
    with open(path, newline="") as f:
        return f.read().split("\r\n")[:-1]


def test_csv_logger_rows_equal_the_logs_and_are_on_disk_after_each_epoch(tmp_path):
    path = tmp_path / "log.csv"
    on_disk = []

    class Peek(Callback):
        def on_epoch_end(self, epoch, logs=None):
            on_disk.append(len(read_rows(path)))

    model = compiled_model(metrics=["mae"])
    history, recorder = fit(
        model, [LearningRateScheduler(decay_after_two), CSVLogger(path), Peek()], epochs=3
    )
    assert on_disk == [2, 3, 4]  # header + one row per finished epoch, before fit returns
    rows = read_rows(path)
    assert rows[0] == "epoch,learning_rate,loss,mae,val_loss,val_mae"
    assert len(rows) == 4
    for epoch, row in enumerate(rows[1:]):
        values = row.split(",")
        assert int(values[0]) == epoch
        logged = dict(zip(rows[0].split(",")[1:], map(float, values[1:])))
        assert logged == recorder.logs[epoch]
        assert logged == {key: values[epoch] for key, values in history.history.items()}


def test_csv_logger_append_writes_one_header_and_overwrite_starts_again(tmp_path):
    path = tmp_path / "log.csv"
    model = compiled_model()
    fit(model, [CSVLogger(path, append=True)], epochs=2)
    fit(model, [CSVLogger(path, append=True)], epochs=1)
    rows = read_rows(path)
    assert rows[0] == "epoch,loss,val_loss"
    assert [r.split(",")[0] for r in rows] == ["epoch", "0", "1", "0"]
    fit(model, [CSVLogger(path, separator=";")], epochs=1, validation=False)
    assert read_rows(path)[0] == "epoch;loss;val_loss"
    assert read_rows(path)[1].endswith(";NA")  # no validation: Keras still adds val_ columns
    assert len(read_rows(path)) == 2


def test_csv_logger_file_is_byte_identical_to_keras(tmp_path):
    keras = pytest.importorskip("keras")
    epochs = [
        {"loss": 0.5, "acc": np.float32(0.25), "per_class": np.array([0.1, 0.2], "float32"), "note": "ok"},
        {"loss": 0.25, "acc": np.float32(0.5), "per_class": np.array([0.3, 0.4], "float32")},
    ]
    for append in (False, True):
        files = []
        for module, name in ((workbench.callbacks, "ours.csv"), (keras.callbacks, "keras.csv")):
            logger = module.CSVLogger(str(tmp_path / name), separator=";", append=append)
            logger.on_train_begin()
            for epoch, logs in enumerate(epochs):
                logger.on_epoch_end(epoch, dict(logs))
            logger.on_train_end()
            files.append((tmp_path / name).read_bytes())
        assert files[0] == files[1]
    assert b'"""[0.1, 0.2]"""' in files[0] and files[0].count(b"epoch") == 1


def test_a_learning_rate_set_between_compile_and_fit_is_used():
    x, y = np.random.default_rng(0).normal(size=(32, 3)).astype("float32"), np.ones((32, 1), "float32")
    m = workbench.Sequential([workbench.Input((3,)), layers.Dense(1)])
    m.compile(optimizer=workbench.optimizers.SGD(learning_rate=0.1), loss="mse")
    m.optimizer.learning_rate = 0.0
    before = [w.copy() for w in m.get_weights()]
    m.fit(x, y, epochs=1, verbose=0)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert float(m.optimizer.learning_rate) == 0.0
