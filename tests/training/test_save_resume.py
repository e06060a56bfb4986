"""model.save keeps the compile config and optimizer state; load_model continues training where it stopped."""

import hashlib
import io
import json
import zipfile

import numpy as np
import optax
import pytest

import workbench
from workbench import layers
from workbench.saving import CorruptFileError, load_model
from workbench.training.callbacks import Callback

# One dispatch per epoch (96 samples / 16 per batch): a single compilation per model keeps the tests quick.
ADAM = dict(optimizer="adam", loss="mse", metrics=["mae"], steps_per_execution=6)


def data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32") + 0.1 * rng.normal(size=(n, 1))).astype(
        "float32"
    )
    return x, y


def mlp(hidden=16):
    workbench.utils.set_random_seed(0)
    return workbench.Sequential(
        [
            workbench.Input((4,)),
            layers.Dense(hidden, activation="relu", name="hidden"),
            layers.Dropout(0.25),  # uses the train state's RNG key: resuming must restore it too
            layers.Dense(1, name="out"),
        ]
    )


def fit(model, x, y, epochs, callbacks=None):
    return model.fit(x, y, batch_size=16, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)


def members(path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rewrite(path, new_members: dict, rehash: bool = True) -> None:
    """Write a `.keras` zip with `new_members`; `rehash=False` keeps the old sha256 list (a tampered file)."""
    meta = json.loads(new_members["metadata.json"])
    if rehash:
        meta["sha256"] = {
            n: hashlib.sha256(d).hexdigest() for n, d in new_members.items() if n != "metadata.json"
        }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("metadata.json", json.dumps(meta))
        for name, d in new_members.items():
            if name != "metadata.json":
                zf.writestr(name, d)
    path.write_bytes(buf.getvalue())


@pytest.fixture(scope="module")
def trained_file(tmp_path_factory):
    """A model trained 2 epochs with Adam, saved; and the same model trained 4 epochs without a break."""
    x, y = data()
    whole = mlp()
    whole.compile(**ADAM)
    whole_history = fit(whole, x, y, 4).history
    first = mlp()
    first.compile(**ADAM)
    fit(first, x, y, 2)
    path = tmp_path_factory.mktemp("saved") / "half.keras"
    first.save(path)
    return path, whole, whole_history


def test_loaded_model_trains_on_exactly_as_an_uninterrupted_run(trained_file):
    path, whole, whole_history = trained_file
    x, y = data()
    resumed = load_model(path)
    assert int(resumed._train_state["step"]) == 2 * 6  # 96 samples / 16 per batch, 2 epochs
    history = fit(resumed, x, y, 2).history
    np.testing.assert_allclose(history["loss"], whole_history["loss"][2:], rtol=1e-6)
    for w_resumed, w_whole in zip(resumed.get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(w_resumed, w_whole)  # the same steps, bit for bit (CPU and GPU)


def test_weights_alone_with_a_fresh_adam_end_elsewhere(trained_file):
    path, whole, _ = trained_file
    x, y = data()
    restarted = load_model(path, compile=False)
    restarted.compile(**ADAM)
    fit(restarted, x, y, 2)
    gap = max(np.abs(a - b).max() for a, b in zip(restarted.get_weights(), whole.get_weights()))
    assert gap > 1e-3, "a fresh Adam state should train differently from the restored one"


def test_file_holds_compile_config_and_named_optimizer_leaves(trained_file):
    path, _, _ = trained_file
    files = members(path)
    doc = json.loads(files["compile.json"])
    config = doc["compile_config"]
    assert config["optimizer"]["class_name"] == "Adam"
    assert (config["loss"], config["metrics"], config["steps_per_execution"]) == ("mse", ["mae"], 6)
    names = [t["name"] for t in doc["train_state"]["tensors"]]
    assert "opt_state.inner_state[0][0].inner_state.mu['hidden/kernel']" in names
    assert {"step", "rng"} <= set(names)
    assert doc["train_state"]["step"] == 12
    # safetensors: an 8-byte length, then a JSON header; no pickle
    assert files["optimizer.safetensors"][8:].lstrip().startswith(b"{")


def test_optimizer_config_and_a_callbacks_learning_rate_are_restored(tmp_path):
    class HalveLearningRate(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.optimizer.learning_rate = float(self.model.optimizer.learning_rate) / 2

    x, y = data()
    model = mlp()
    model.compile(
        optimizer=workbench.optimizers.Adam(learning_rate=0.02, clipnorm=1.0, beta_2=0.99),
        loss="mse",
        steps_per_execution=6,
    )
    fit(model, x, y, 2, callbacks=[HalveLearningRate()])
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, workbench.optimizers.Adam)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.005)
    assert float(loaded.optimizer.learning_rate) == float(model.optimizer.learning_rate)


def two_output_model():
    workbench.utils.set_random_seed(3)
    inputs = workbench.Input((4,), name="features")
    h = layers.Dense(8, activation="relu")(inputs)
    reg = layers.Dense(1, name="reg")(h)
    cls = layers.Dense(3, name="cls")(h)
    return workbench.Model(inputs, {"reg": reg, "cls": cls})


def test_per_output_losses_and_metrics_round_trip_and_evaluate_the_same(tmp_path):
    x, y_reg = data(64)
    y_cls = (np.abs(x[:, 0]) * 2).astype("int32").clip(0, 2)
    y = {"reg": y_reg, "cls": y_cls}
    model = two_output_model()
    model.compile(
        optimizer="rmsprop",
        loss={"reg": "mse", "cls": workbench.losses.SparseCategoricalCrossentropy(from_logits=True)},
        loss_weights={"reg": 0.5, "cls": 2.0},
        metrics={
            "reg": ["mae"],
            "cls": ["accuracy", workbench.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")],
        },
        weighted_metrics={"reg": ["mse"]},
        steps_per_execution=2,
    )
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "two.keras")
    loaded = load_model(tmp_path / "two.keras")

    args = loaded._compile_args
    assert args["loss"]["reg"] == "mse"
    assert isinstance(args["loss"]["cls"], workbench.losses.SparseCategoricalCrossentropy)
    assert args["loss"]["cls"].from_logits is True
    assert args["loss_weights"] == {"reg": 0.5, "cls": 2.0}
    assert args["metrics"]["cls"][0] == "accuracy"
    top2 = args["metrics"]["cls"][1]
    assert (type(top2).__name__, top2.name, top2.k) == ("SparseTopKCategoricalAccuracy", "top2", 2)
    assert args["weighted_metrics"] == {"reg": ["mse"]}
    assert args["steps_per_execution"] == 2

    sample_weight = {"reg": np.linspace(0.5, 1.5, 64).astype("float32"), "cls": np.ones(64, "float32")}
    expected = model.evaluate(x, y, batch_size=16, sample_weight=sample_weight, return_dict=True, verbose=0)
    got = loaded.evaluate(x, y, batch_size=16, sample_weight=sample_weight, return_dict=True, verbose=0)
    assert set(got) == set(expected) and {"cls_top2", "reg_mse", "cls_accuracy", "reg_mae"} <= set(got)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-6, err_msg=name)


def test_tampered_optimizer_state_fails_the_checksum_and_a_truncated_file_fails(trained_file, tmp_path):
    path, _, _ = trained_file
    files = members(path)
    state = bytearray(files["optimizer.safetensors"])
    state[-1] ^= 0x01  # one bit of one moment
    tampered = tmp_path / "tampered.keras"
    rewrite(tampered, {**files, "optimizer.safetensors": bytes(state)}, rehash=False)
    with pytest.raises(CorruptFileError, match="optimizer.safetensors failed its checksum"):
        load_model(tampered)

    data_ = path.read_bytes()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(data_[: len(data_) - 200])
    with pytest.raises(CorruptFileError):
        load_model(truncated)


def test_compile_false_gives_an_uncompiled_model_with_the_weights(trained_file):
    path, _, _ = trained_file
    loaded = load_model(path, compile=False)
    assert getattr(loaded, "_compile_spec", None) is None and not getattr(loaded, "compiled", False)
    compiled = load_model(path)
    for a, b in zip(loaded.get_weights(), compiled.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(RuntimeError, match="must be compiled"):
        loaded.fit(*data(), epochs=1, verbose=0)


def test_raw_optax_optimizer_saves_weights_and_warns_that_the_model_comes_back_uncompiled(tmp_path):
    x, y = data()
    model = mlp()
    model.compile(optimizer=optax.adam(1e-3), loss="mse", steps_per_execution=6)
    fit(model, x, y, 1)
    with pytest.warns(UserWarning, match="raw optax transformation"):
        model.save(tmp_path / "optax.keras")
    assert "optimizer.safetensors" not in members(tmp_path / "optax.keras")
    with pytest.warns(UserWarning, match="uncompiled.*raw optax transformation"):
        loaded = load_model(tmp_path / "optax.keras")
    assert getattr(loaded, "_compile_spec", None) is None
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_compiled_but_untrained_model_saves_its_compile_config_only(tmp_path):
    schedule = workbench.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    model = mlp()
    model.compile(optimizer=workbench.optimizers.SGD(learning_rate=schedule, momentum=0.9), loss="mae")
    model.save(tmp_path / "fresh.keras")
    files = members(tmp_path / "fresh.keras")
    assert "optimizer.safetensors" not in files and json.loads(files["compile.json"])["train_state"] is None
    loaded = load_model(tmp_path / "fresh.keras")
    assert loaded._train_state is None
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert isinstance(loaded.optimizer.learning_rate, workbench.optimizers.schedules.ExponentialDecay)


def custom_loss(y_true, y_pred):
    return workbench.ops.mean(workbench.ops.abs(y_true - y_pred), axis=-1)


def test_custom_loss_loads_with_custom_objects_and_a_lambda_is_not_saved(tmp_path):
    model = mlp()
    model.compile(optimizer="sgd", loss=custom_loss)
    model.save(tmp_path / "custom.keras")
    with pytest.warns(UserWarning, match="custom_objects"):
        plain = load_model(tmp_path / "custom.keras")
    assert getattr(plain, "_compile_spec", None) is None
    loaded = load_model(tmp_path / "custom.keras", custom_objects={"custom_loss": custom_loss})
    assert loaded._compile_args["loss"] is custom_loss

    model.compile(optimizer="sgd", loss=lambda t, p: (t - p) ** 2)
    with pytest.warns(UserWarning, match="lambda"):
        model.save(tmp_path / "lambda.keras")
    with pytest.warns(UserWarning, match="uncompiled"):
        assert getattr(load_model(tmp_path / "lambda.keras"), "_compile_spec", None) is None


def test_optimizer_state_of_another_architecture_is_refused_and_another_optimizer_starts_fresh(
    trained_file, tmp_path
):
    path, _, _ = trained_file
    trained = members(path)
    wider = mlp(hidden=32)  # same layer names, other shapes
    wider.compile(**ADAM)
    wider.save(tmp_path / "wider.keras")
    grafted = {**members(tmp_path / "wider.keras")}
    grafted.update({k: trained[k] for k in ("compile.json", "optimizer.safetensors")})
    rewrite(tmp_path / "grafted.keras", grafted)
    with pytest.raises(ValueError, match=r"mu\['hidden/bias'\].*shape \(16,\).*expects shape \(32,\)"):
        load_model(tmp_path / "grafted.keras")

    doc = json.loads(trained["compile.json"])
    doc["compile_config"]["optimizer"] = workbench.optimizers.serialize(
        workbench.optimizers.SGD(momentum=0.9)
    )
    rewrite(tmp_path / "sgd.keras", {**trained, "compile.json": json.dumps(doc).encode()})
    with pytest.warns(UserWarning, match="fresh optimizer state"):
        loaded = load_model(tmp_path / "sgd.keras")
    assert isinstance(loaded.optimizer, workbench.optimizers.SGD) and loaded._train_state is None
