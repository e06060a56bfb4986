"""compile / fit / evaluate / predict: numerics against hand-computed references, errors, callbacks."""

import contextlib

import jax
import numpy as np
import pytest

import workbench
from workbench import layers
from workbench.training.callbacks import Callback, EarlyStopping, LambdaCallback, TerminateOnNaN


def regression_data(n=50, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5], "float32")[:d, None] + 0.3).astype("float32")
    return x, y


def linear_model(d=3):
    workbench.utils.set_random_seed(1)
    return workbench.Sequential([workbench.Input((d,)), layers.Dense(1)])


def test_epoch_loss_and_metrics_equal_hand_computed_with_partial_last_batch():
    x, y = regression_data(n=50)
    m = linear_model()
    m.compile(optimizer=workbench.optimizers.SGD(learning_rate=0.0), loss="mse", metrics=["mae"])
    w, b = [a.copy() for a in m.get_weights()]
    h = m.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)  # 16+16+16+2
    pred = x @ w + b
    # GPUs multiply float32 matrices in TF32 by default: training and predict may round differently there.
    rtol = 1e-5 if jax.default_backend() == "cpu" else 1e-3
    np.testing.assert_allclose(h.history["loss"][0], np.mean((pred - y) ** 2), rtol=rtol)
    np.testing.assert_allclose(h.history["mae"][0], np.mean(np.abs(pred - y)), rtol=1e-5)


def test_sample_weight_and_class_weight_match_hand_computed():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 4)).astype("float32")
    labels = rng.integers(0, 3, 40)
    m = workbench.Sequential([workbench.Input((4,)), layers.Dense(3, activation="softmax")])
    m.compile(optimizer=workbench.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    probs = np.asarray(m.predict(x))
    per_sample = -np.log(np.clip(probs[np.arange(40), labels], 1e-7, 1))
    sw = rng.uniform(0.5, 2.0, 40).astype("float32")
    h = m.fit(x, labels, sample_weight=sw, batch_size=40, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(h.history["loss"][0], np.mean(per_sample * sw), rtol=1e-5)
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    h = m.fit(x, labels, class_weight=cw, batch_size=40, epochs=1, verbose=0, shuffle=False)
    weights = np.array([cw[c] for c in labels])
    np.testing.assert_allclose(h.history["loss"][0], np.mean(per_sample * weights), rtol=1e-5)


def test_fit_learns_and_evaluate_predict_agree():
    x, y = regression_data(n=256)
    m = linear_model()
    m.compile(optimizer=workbench.optimizers.Adam(learning_rate=0.05), loss="mse")
    first = m.evaluate(x, y, verbose=0)
    h = m.fit(x, y, batch_size=32, epochs=30, verbose=0)
    assert h.history["loss"][-1] < 0.1 * h.history["loss"][0]
    last = m.evaluate(x, y, verbose=0)
    assert last < 0.1 * first
    pred = m.predict(x, batch_size=50)  # 50 does not divide 256
    assert pred.shape == (256, 1)
    np.testing.assert_allclose(np.mean((pred - y) ** 2), last, rtol=1e-4)


def test_validation_split_uses_the_last_samples_and_reports_val_logs():
    x, y = regression_data(n=100)
    m = linear_model()
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    h = m.fit(x, y, epochs=2, validation_split=0.2, verbose=0)
    assert set(h.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert len(h.history["val_loss"]) == 2


@contextlib.contextmanager
def count_compiles():
    counter = {"n": 0}

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            counter["n"] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counter
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def test_later_epochs_compile_nothing_despite_a_partial_last_batch():
    x, y = regression_data(n=70)
    m = linear_model()
    m.compile(optimizer="adam", loss="mse", steps_per_execution=2)
    m.fit(x, y, batch_size=16, epochs=1, verbose=0)  # 5 steps: groups of 2, last group padded
    with count_compiles() as c:
        m.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert c["n"] == 0


def test_callbacks_see_and_set_weights_mid_training():
    x, y = regression_data(n=64)
    m = linear_model()
    m.compile(optimizer="sgd", loss="mse", steps_per_execution=1)
    seen = []

    class Zero(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(self.model.get_weights()[0].copy())
            if batch == 1:
                self.model.set_weights([np.zeros_like(w) for w in self.model.get_weights()])

    m.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False, callbacks=[Zero()])
    assert not np.array_equal(seen[0], seen[1])
    # step 3 started from zeros: one SGD step from zero weights is small
    assert np.abs(seen[2]).max() < np.abs(seen[1]).max() + 1.0


def test_early_stopping_restores_best_weights():
    x, y = regression_data(n=64)
    m = linear_model()
    m.compile(optimizer=workbench.optimizers.SGD(learning_rate=0.0), loss="mse")
    es = EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    h = m.fit(x, y, epochs=10, verbose=0, shuffle=False, callbacks=[es])
    assert len(h.history["loss"]) == 2 and es.stopped_epoch == 1


def test_terminate_on_nan_names_the_step():
    x, y = regression_data(n=64)
    y[40] = np.nan  # batch 2 of 4 (batch_size 16, no shuffle)
    m = linear_model()
    m.compile(optimizer="sgd", loss="mse", steps_per_execution=4)
    h = m.fit(x, y, batch_size=16, epochs=5, verbose=0, shuffle=False, callbacks=[TerminateOnNaN()])
    assert m.stop_training and m.nan_step == 2
    assert len(h.history["loss"]) == 1


def test_lambda_callback_and_progress_bar_output(capsys):
    x, y = regression_data(n=32)
    m = linear_model()
    m.compile(optimizer="sgd", loss="mse")
    epochs = []
    m.fit(x, y, epochs=2, verbose=1, callbacks=[LambdaCallback(on_epoch_end=lambda e, logs: epochs.append(e))])
    out = capsys.readouterr().out
    assert epochs == [0, 1] and "Epoch 2/2" in out and "loss:" in out and "ms/step" in out


def test_bad_inputs_fail_before_compiling():
    x, y = regression_data(n=20)
    m = linear_model()
    m.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"x: 20.*y: 19|y: 19.*x: 20"):
        m.fit(x, y[:19], verbose=0)
    with pytest.raises(ValueError, match=r"\(3,\).*\(5,\)"):
        m.fit(np.ones((20, 5), "float32"), y, verbose=0)
    c = workbench.Sequential([workbench.Input((3,)), layers.Dense(4)])
    c.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"label 7 is out of range \[0, 4\)"):
        c.fit(x, np.array([0, 1, 7] + [0] * 17), verbose=0)
    with pytest.raises(ValueError, match="mean_squared_error"):
        m.compile(optimizer="sgd", loss="mean_squard_error")
    with pytest.raises(ValueError, match="accuracy"):
        m.compile(optimizer="sgd", loss="mse", metrics=["acuracy"])


def test_fit_requires_compile():
    with pytest.raises(RuntimeError, match="compile"):
        linear_model().fit(*regression_data(), verbose=0)


def test_multi_output_losses_weights_and_names():
    a = workbench.Input((3,), name="a")
    h = layers.Dense(8, activation="relu")(a)
    out1 = layers.Dense(1, name="reg")(h)
    out2 = layers.Dense(2, activation="softmax", name="cls")(h)
    m = workbench.Model(a, [out1, out2])
    m.compile(optimizer="adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
              loss_weights={"reg": 1.0, "cls": 0.5}, metrics={"cls": ["accuracy"]})
    x, y = regression_data(n=64)
    hist = m.fit(x, [y, (y[:, 0] > 0).astype("int32")], epochs=2, verbose=0)
    assert {"loss", "reg_loss", "cls_loss", "cls_accuracy"} <= set(hist.history)
    np.testing.assert_allclose(
        hist.history["loss"][0], hist.history["reg_loss"][0] + 0.5 * hist.history["cls_loss"][0], rtol=1e-4
    )


def test_generator_input():
    x, y = regression_data(n=64)

    def batches():
        for i in range(0, 64, 16):
            yield x[i : i + 16], y[i : i + 16]

    m = linear_model()
    m.compile(optimizer="sgd", loss="mse")
    h = m.fit(batches(), epochs=1, verbose=0)
    assert np.isfinite(h.history["loss"][0])


def test_a_generator_is_trained_and_predicted_on_every_batch():
    """Reading the first batch to build and check the model does not drop it, nor does stopping at a limit."""
    x, y = regression_data(n=64)
    m = linear_model()
    m.compile(optimizer="sgd", loss="mse", steps_per_execution=1)
    m.fit(((x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)), epochs=1, verbose=0)
    assert m._fit_position["global_step"] == 4
    stream = ((x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16))
    m.fit(stream, epochs=2, steps_per_epoch=2, verbose=0)
    assert m._fit_position["global_step"] == 8 and next(stream, None) is None  # 2 epochs of 2: all 4 read once
    predicted = m.predict((x[i:i + 16] for i in range(0, 64, 16)), verbose=0)
    np.testing.assert_allclose(predicted, m.predict(x, verbose=0), rtol=1e-6)


def test_sequence_outputs_train_with_a_partial_last_batch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 5, 2)).astype("float32")
    y = rng.normal(size=(10, 5, 3)).astype("float32")
    m = workbench.Sequential([workbench.Input((5, 2)), layers.Dense(3)])
    m.compile(optimizer=workbench.optimizers.SGD(learning_rate=0.0), loss="mse")
    h = m.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)  # 4 + 4 + 2
    pred = np.asarray(m.predict(x))
    # GPUs multiply float32 matrices in TF32 by default: training and predict may round differently there.
    rtol = 1e-5 if jax.default_backend() == "cpu" else 1e-3
    np.testing.assert_allclose(h.history["loss"][0], np.mean((pred - y) ** 2), rtol=rtol)


def test_metrics_as_functions_objects_and_shape_built_metrics():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (rng.random((32, 3)) > 0.5).astype("float32")

    def mean_pred(y_true, y_pred):
        return workbench.ops.mean(y_pred, axis=-1)

    m = workbench.Sequential([workbench.Input((4,)), layers.Dense(3, activation="sigmoid")])
    m.compile(optimizer="sgd", loss="binary_crossentropy",
              metrics=[mean_pred, workbench.metrics.AUC(name="auc"), workbench.metrics.F1Score(average="macro", name="f1_score"),
                       "accuracy"])
    h = m.fit(x, y, epochs=1, verbose=0)
    assert {"mean_pred", "auc", "f1_score", "accuracy"} <= set(h.history)
    probs = np.asarray(m.predict(x))
    logs = m.evaluate(x, y, return_dict=True, verbose=0)
    np.testing.assert_allclose(logs["mean_pred"], probs.mean(), rtol=1e-5)
    np.testing.assert_allclose(logs["accuracy"], ((probs > 0.5) == y).mean(), rtol=1e-5)


def test_keyboard_interrupt_keeps_latest_weights_and_history():
    x, y = regression_data(n=64)
    m = linear_model()
    m.compile(optimizer="sgd", loss="mse", steps_per_execution=1)
    before = m.get_weights()[0].copy()
    seen = {}

    class Interrupt(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                seen["weights"] = self.model.get_weights()[0].copy()
                raise KeyboardInterrupt

    with pytest.warns(UserWarning, match="interrupted"):
        h = m.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False, callbacks=[Interrupt()])
    assert isinstance(h, workbench.callbacks.History)
    after = m.get_weights()[0]
    assert not np.array_equal(after, before)
    np.testing.assert_array_equal(after, seen["weights"])
    assert m.predict(x).shape == (64, 1)


def test_progress_bar_writes_one_line_per_epoch_when_not_on_a_terminal():
    import io

    x, y = regression_data(n=64)
    m = linear_model()
    m.compile(optimizer="sgd", loss="mse", steps_per_execution=1)
    out = io.StringIO()
    from workbench.callbacks import ProgbarLogger

    m.fit(x, y, batch_size=8, epochs=2, verbose=1, callbacks=[ProgbarLogger(stream=out, interval=0.0)])
    text = out.getvalue()
    assert "\r" not in text
    assert [line.split(" ")[0] for line in text.splitlines()] == ["Epoch", "8/8", "Epoch", "8/8"]


def test_optimizer_is_none_until_compile():
    m = linear_model()
    assert m.optimizer is None and not m.compiled
    m.compile(optimizer="adam", loss="mse")
    assert isinstance(m.optimizer, workbench.optimizers.Adam) and m.compiled


def test_a_partial_last_batch_of_fully_masked_padding_cannot_poison_the_loss():
    # Padding rows of zeros are fully masked sequences: their average pooling is 0/0. Padding repeats
    # real rows instead, so 37 examples in batches of 32 train and evaluate to finite, exact values.
    import workbench as wb
    from workbench import layers

    wb.utils.set_random_seed(0)
    tokens = wb.Input((None,), dtype="int32")
    pooled = layers.GlobalAveragePooling1D()(layers.Embedding(20, 4, mask_zero=True)(tokens))
    model = wb.Model(tokens, layers.Dense(2)(pooled))
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, (37, 10)).astype("int32")
    y = rng.integers(0, 2, 37).astype("int32")
    logits = np.asarray(model.predict(x, batch_size=32, verbose=0), np.float64)
    expected = np.mean(np.log(np.exp(logits).sum(1)) - logits[np.arange(37), y])
    assert model.evaluate(x, y, batch_size=32, verbose=0) == pytest.approx(expected, rel=1e-5)
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0, log=False)
    assert np.isfinite(history.history["loss"]).all()
    assert all(np.isfinite(w).all() for w in model.get_weights())
