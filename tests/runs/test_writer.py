"""RunLogger: run.json, metrics.jsonl, histograms.jsonl and TensorBoard events agree, statuses, listeners,
and per-step logging that never waits for the device."""

from __future__ import annotations

import json
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

import workbench as wb
from workbench import runs
from workbench.runs import RunLogger, writer
from workbench.training.checkpoints import restore_model

from .conftest import tiny_data, tiny_model

ALL = {"scalars": 0, "histograms": 0, "tensors": 0}


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def events(path):
    acc = EventAccumulator(str(path), size_guidance=ALL)
    acc.Reload()
    return acc


def test_run_json_records_the_fit(finished):
    info = json.loads((finished.path / "run.json").read_text())
    assert re.fullmatch(r"\d{8}-\d{6}-baseline-[0-9a-f]{4}", info["id"]) and info["id"] == finished.path.name
    assert info["status"] == "finished" and info["error"] is None
    assert info["created"] <= info["ended"]
    assert info["model"]["class"] == "Sequential"
    assert wb.models.model_from_json(json.dumps(info["model"]["config"])).count_params() == 15
    assert info["compile"]["optimizer"]["class_name"] == "Adam"
    assert info["compile"]["metrics"] == ["accuracy"]
    assert info["hparams"] == {
        "batch_size": 32,
        "shuffle": True,
        "epochs": 2,
        "optimizer": "adam",
        "learning_rate": 0.001,
    }
    env = info["environment"]
    assert (
        env["jax"] == jax.__version__
        and env["numpy"] == np.__version__
        and env["workbench"] == wb.__version__
    )
    assert env["python"] and env["jaxlib"] and env["devices"] == [str(d) for d in jax.devices()]
    assert env["git"] is None or re.fullmatch(r"[0-9a-f]{40}", env["git"]["commit"])
    assert info["data"] == runs.fingerprint(finished.x, finished.y)
    assert info["summary"]["epochs"] == 2 and info["summary"]["steps"] == 6
    assert info["summary"]["val"]["loss"] == pytest.approx(finished.model.history.history["val_loss"][-1])


def test_metrics_jsonl_holds_every_step_and_epoch(finished):
    records = lines(finished.path / "metrics.jsonl")
    batches = [r for r in records if r["kind"] == "batch"]
    assert [r["step"] for r in batches] == [1, 2, 3, 4, 5, 6]
    assert [r["epoch"] for r in batches] == [0, 0, 0, 1, 1, 1]
    assert all(r["split"] == "train" and np.isfinite(r["values"]["batch_loss"]) for r in batches)
    history = finished.model.history.history
    epochs = [r for r in records if r["kind"] == "epoch"]
    train = [r for r in epochs if r["split"] == "train"]
    val = [r for r in epochs if r["split"] == "val"]
    assert [r["step"] for r in train] == [3, 6] and [r["epoch"] for r in val] == [0, 1]
    assert [r["values"]["loss"] for r in train] == pytest.approx(history["loss"], rel=1e-6)
    assert [r["values"]["loss"] for r in val] == pytest.approx(history["val_loss"], rel=1e-6)
    assert [r["values"]["accuracy"] for r in val] == pytest.approx(history["val_accuracy"], rel=1e-6)
    assert [r["values"]["learning_rate"] for r in train] == [0.001, 0.001]
    # The last step of an epoch's running mean is the epoch's loss.
    assert batches[2]["values"]["loss"] == pytest.approx(history["loss"][0], rel=1e-6)


def test_tensorboard_reads_the_same_scalars(finished):
    records = lines(finished.path / "metrics.jsonl")
    train, validation = events(finished.path / "train"), events(finished.path / "validation")
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate", "batch_loss"} <= set(
        train.Tags()["scalars"]
    )
    assert {"epoch_loss", "epoch_accuracy"} == set(validation.Tags()["scalars"])

    def jsonl(kind, split, name):
        return [
            (r["epoch"] if kind == "epoch" else r["step"], r["values"][name])
            for r in records
            if r["kind"] == kind and r["split"] == split and name in r["values"]
        ]

    def board(acc, tag):
        return [(e.step, e.value) for e in acc.Scalars(tag)]

    for acc, split in ((train, "train"), (validation, "val")):
        for name in ("loss", "accuracy"):
            expected = jsonl("epoch", split, name)
            assert [s for s, _ in board(acc, f"epoch_{name}")] == [s for s, _ in expected] == [0, 1]
            assert [v for _, v in board(acc, f"epoch_{name}")] == pytest.approx(
                [v for _, v in expected], rel=1e-6
            )
    rates = board(train, "epoch_learning_rate")
    assert [s for s, _ in rates] == [0, 1]
    assert [v for _, v in rates] == pytest.approx([v for _, v in jsonl("epoch", "train", "learning_rate")])
    steps = board(train, "batch_loss")
    assert [s for s, _ in steps] == [1, 2, 3, 4, 5, 6]
    assert [v for _, v in steps] == pytest.approx(
        [v for _, v in jsonl("batch", "train", "batch_loss")], rel=1e-6
    )


def test_histograms_of_weights_and_gradients(finished):
    dense = finished.model.layers[-1].name  # "dense", or "dense_<n>" when other models were built first
    train = events(finished.path / "train")
    tags = set(train.Tags()["histograms"])
    assert tags == {f"{dense}/{w}/{kind}" for w in ("kernel", "bias") for kind in ("histogram", "gradient")}
    kernel = train.Histograms(f"{dense}/kernel/histogram")
    assert [h.step for h in kernel] == [0, 1]  # every epoch, stepped by epoch as Keras does
    final = kernel[-1].histogram_value
    weights = np.asarray(finished.model.layers[-1].kernel.value)
    assert final.num == 12 and sum(final.bucket) == 12
    assert final.min == pytest.approx(weights.min(), rel=1e-5) and final.max == pytest.approx(
        weights.max(), rel=1e-5
    )

    records = lines(finished.path / "histograms.jsonl")
    assert {(r["source"], r["name"]) for r in records} == {
        (source, f"{dense}/{w}") for source in ("weights", "gradients") for w in ("kernel", "bias")
    }
    last = [r for r in records if r["source"] == "weights" and r["name"] == f"{dense}/kernel"][-1]
    assert last["counts"] == [int(c) for c in final.bucket] and len(last["edges"]) == len(last["counts"]) + 1
    assert last["edges"][1:] == pytest.approx(list(final.bucket_limit), rel=1e-5)

    # The gradient histogram is of the loss on the gradient batch at the epoch's final weights.
    x, y = finished.x[:32], finished.y[:32]

    def loss(w, b):
        logits = x @ w + b
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(32), y])

    bias = np.asarray(finished.model.layers[-1].bias.value)
    grad = np.asarray(jax.grad(loss)(weights, bias))
    last_grad = [r for r in records if r["source"] == "gradients" and r["name"] == f"{dense}/kernel"][-1]
    assert last_grad["min"] == pytest.approx(grad.min(), rel=1e-4, abs=1e-7)
    assert last_grad["max"] == pytest.approx(grad.max(), rel=1e-4, abs=1e-7)


def test_hparams_for_tensorboards_hparams_view(finished):
    root = events(finished.path)
    content = root.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    values = {k: v for k, v in start.session_start_info.hparams.items()}
    assert values["batch_size"].number_value == 32 and values["optimizer"].string_value == "adam"
    assert values["shuffle"].bool_value is True and values["learning_rate"].number_value == pytest.approx(
        0.001
    )
    end = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_end_info"])
    assert end.session_end_info.status == 1  # STATUS_SUCCESS


def test_tensorboard_hparams_table_shows_the_final_metrics(finished):
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups

    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(finished.root))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(finished.root))
    tb = backend_context.Context(
        base_plugin.TBContext(logdir=str(finished.root), multiplexer=multiplexer, data_provider=provider)
    )
    request = api_pb2.ListSessionGroupsRequest(
        start_index=0, slice_size=10, allowed_statuses=[api_pb2.STATUS_SUCCESS]
    )
    groups = list_session_groups.Handler(context.RequestContext(), tb, "", request).run().session_groups
    group = next(g for g in groups if g.name == finished.path.name)
    values = {(m.name.group, m.name.tag): m.value for m in group.metric_values}
    history = finished.model.history.history
    assert values[("validation", "epoch_loss")] == pytest.approx(history["val_loss"][-1], rel=1e-6)
    assert values[("train", "epoch_accuracy")] == pytest.approx(history["accuracy"][-1], rel=1e-6)


def test_listeners_get_every_record_as_written(finished):
    records = finished.records
    assert records[0]["kind"] == "run" and records[0]["run_json"]["status"] == "running"
    assert records[1] == {**records[1], "kind": "status", "status": "running"}
    assert records[-1]["kind"] == "status" and records[-1]["status"] == "finished"
    scalars = [r for r in records if r["kind"] in ("batch", "epoch")]
    assert scalars == lines(finished.path / "metrics.jsonl")
    assert [r for r in records if r["kind"] == "histogram"] == lines(finished.path / "histograms.jsonl")


def test_a_listener_that_raises_is_removed_and_training_goes_on(tmp_path, shared_model):
    x, y = tiny_data()
    logger = RunLogger(root=tmp_path, checkpoints=False)
    calls, good = [], []

    def broken(record):
        calls.append(record)
        raise ValueError("chart closed")

    logger.listeners += [broken, good.append]
    with pytest.warns(UserWarning, match="raised ValueError: chart closed"):
        shared_model.fit(x, y, batch_size=32, epochs=2, callbacks=[logger], verbose=0)
    assert len(calls) == 1 and logger.listeners == [good.append]
    assert good[-1]["status"] == "finished" and len([r for r in good if r["kind"] == "epoch"]) == 2
    assert logger.run_json["status"] == "finished"


def test_a_failing_fit_marks_the_run_failed(tmp_path, shared_model):
    x, y = tiny_data()
    logger = RunLogger(root=tmp_path, checkpoints=False)
    seen = []
    logger.listeners.append(seen.append)

    def fail(epoch, logs):
        raise RuntimeError("boom at the first epoch's end")

    with pytest.raises(RuntimeError, match="boom"):
        shared_model.fit(
            x,
            y,
            batch_size=32,
            epochs=3,
            callbacks=[logger, wb.callbacks.LambdaCallback(on_epoch_end=fail)],
            verbose=0,
        )
    info = json.loads((logger.path / "run.json").read_text())
    assert info["status"] == "failed" and info["error"] == "RuntimeError: boom at the first epoch's end"
    assert info["ended"] is not None
    assert seen[-1]["kind"] == "status" and seen[-1]["status"] == "failed"
    # Everything up to the failure was written, and TensorBoard's session says it failed.
    steps = [r["step"] for r in lines(logger.path / "metrics.jsonl") if r["kind"] == "batch"]
    assert len(steps) == 3 and steps == list(range(steps[0], steps[0] + 3))
    end = events(logger.path).PluginTagToContent("hparams")["_hparams_/session_end_info"]
    assert plugin_data_pb2.HParamsPluginData.FromString(end).session_end_info.status == 2  # STATUS_FAILURE


def test_mark_records_an_interruption(tmp_path, shared_model):
    x, y = tiny_data()
    logger = RunLogger(root=tmp_path, checkpoints=False)

    def interrupt(epoch, logs):
        logger.mark("interrupted")  # what fit does when it catches KeyboardInterrupt
        raise KeyboardInterrupt

    with pytest.warns(UserWarning, match="interrupted"):
        shared_model.fit(
            x,
            y,
            batch_size=32,
            epochs=3,
            callbacks=[logger, wb.callbacks.LambdaCallback(on_epoch_end=interrupt)],
            verbose=0,
        )
    info = json.loads((logger.path / "run.json").read_text())
    assert info["status"] == "interrupted" and info["ended"] is not None
    with pytest.raises(ValueError, match="one of"):
        logger.mark("paused")


class _DeviceValue:
    """Stands in for a device array whose step may not have run: reading it before it is ready fails."""

    def __init__(self, value):
        self.value = np.asarray(value, np.float32)
        self.ndim, self.shape = self.value.ndim, self.value.shape
        self.ready = False

    def is_ready(self):
        return self.ready

    def _check(self):
        if not self.ready:
            raise AssertionError("read a value whose step has not run")

    def __array__(self, dtype=None, copy=None):
        self._check()
        return self.value

    def __float__(self):
        self._check()
        return float(self.value)

    def block_until_ready(self):
        self._check()
        return self


class _TrainingModel:
    name = "fake"

    def __init__(self):
        self._fit_position = {"epoch": 0, "step": 0, "global_step": 0}


def test_batch_hooks_never_read_values_whose_steps_have_not_run(tmp_path):
    model = _TrainingModel()
    logger = RunLogger(root=tmp_path, checkpoints=False)
    logger.set_model(model)
    logger.set_params({"epochs": 1, "steps": 4})
    logger.on_train_begin()
    logger.on_epoch_begin(0)
    dispatches = []
    for first in (0, 2):
        losses = _DeviceValue([0.5 + first, 0.4 + first])
        logs = {"loss": _DeviceValue(0.45 + first)}
        model._step_losses = (losses, 2, first)
        model._fit_position = {"epoch": 0, "step": first + 2, "global_step": first + 2}
        logger.on_train_batch_begin(first)
        logger.on_train_batch_end(first + 1, logs)
        dispatches.append([losses, *logs.values()])
    assert lines(logger.path / "metrics.jsonl") == []  # nothing had run: nothing read, nothing written

    for value in dispatches[0]:
        value.ready = True  # the first dispatch finished; the second has not
    logger.on_train_batch_begin(4)
    written = lines(logger.path / "metrics.jsonl")
    assert [(r["step"], r["values"]) for r in written] == [
        (1, {"batch_loss": 0.5}),
        (2, {"batch_loss": 0.4, "loss": 0.45}),
    ]
    for value in dispatches[1]:
        value.ready = True
    logger.on_epoch_end(0, {"loss": 2.0})
    logger.on_train_end()
    logger.on_fit_exit()
    assert [r["step"] for r in lines(logger.path / "metrics.jsonl")] == [1, 2, 3, 4, 4]


def test_fit_reads_device_values_only_once_computed(tmp_path, monkeypatch):
    unready, batch_level, reads = [], [False], []
    real = writer.to_host

    def checked(tree):
        reads.append(batch_level[0])
        if batch_level[0] and not all(
            leaf.is_ready() for leaf in jax.tree_util.tree_leaves(tree) if isinstance(leaf, jax.Array)
        ):
            unready.append(tree)
        return real(tree)

    monkeypatch.setattr(writer, "to_host", checked)
    logger = RunLogger(root=tmp_path, checkpoints=False, histogram_steps=2)
    logger.set_gradient_batch(*tiny_data(32))
    for hook in ("on_train_batch_begin", "on_train_batch_end", "on_epoch_begin"):
        original = getattr(logger, hook)

        def wrapped(*args, _original=original, **kwargs):
            batch_level[0] = True
            try:
                return _original(*args, **kwargs)
            finally:
                batch_level[0] = False

        setattr(logger, hook, wrapped)
    x, y = tiny_data(320)
    tiny_model(steps_per_execution=1).fit(x, y, batch_size=32, epochs=2, callbacks=[logger], verbose=0)
    assert unready == []
    # fit keeps at most two dispatches in flight, so older steps are done and get written during training.
    assert any(reads)
    assert len([r for r in lines(logger.path / "metrics.jsonl") if r["kind"] == "batch"]) == 20


def test_histogram_steps_are_stepped_by_global_step(tmp_path):
    x, y = tiny_data()
    logger = RunLogger(root=tmp_path, checkpoints=False, histogram_steps=2)
    logger.set_gradient_batch(x[:32], y[:32])
    model = tiny_model(steps_per_execution=1)
    model.fit(x, y, batch_size=32, epochs=2, callbacks=[logger], verbose=0)
    kernel = f"{model.layers[-1].name}/kernel"
    records = lines(logger.path / "histograms.jsonl")
    weights = [r for r in records if r["name"] == kernel and r["source"] == "weights"]
    assert [(r["step"], r["epoch"]) for r in weights] == [(2, 0), (4, 1), (6, 1)]
    board = events(logger.path / "train").Histograms(f"{kernel}/gradient")
    assert [h.step for h in board] == [2, 4, 6]


def test_run_dir_is_used_as_given_and_continued(tmp_path):
    x, y = tiny_data()
    model = tiny_model()
    folder = tmp_path / "my-run"
    model.fit(
        x, y, batch_size=32, epochs=1, callbacks=[RunLogger(run_dir=folder, checkpoints=False)], verbose=0
    )
    first = json.loads((folder / "run.json").read_text())
    model.fit(
        x, y, batch_size=32, epochs=1, callbacks=[RunLogger(run_dir=folder, checkpoints=False)], verbose=0
    )
    info = json.loads((folder / "run.json").read_text())
    assert info["id"] == "my-run" and info["created"] == first["created"] and info["status"] == "finished"
    assert info["summary"]["epochs"] == 2 and info["summary"]["steps"] == 6
    assert [r["step"] for r in lines(folder / "metrics.jsonl") if r["kind"] == "batch"] == [1, 2, 3, 4, 5, 6]
    assert list(tmp_path.iterdir()) == [folder]


def _checkpoint_steps(path) -> list[int]:
    return sorted(int(p.name) for p in (path / "checkpoints").iterdir() if p.name.isdigit())


def test_checkpoints_restore_the_trained_model(finished):
    # a short fit saves once, when it ends (epoch ends save only after checkpoint_interval seconds)
    assert _checkpoint_steps(finished.path) == [6]
    fresh = tiny_model()
    fresh(finished.x[:2])
    record = restore_model(fresh, finished.path / "checkpoints")
    assert record["run"] == finished.path.name and record["position"] == {"epoch": 2, "step": 0}
    for a, b in zip(fresh.get_weights(), finished.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_runs_dir_follows_setting_then_environment_then_cwd(tmp_path, monkeypatch, shared_model):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBENCH_RUNS_DIR", raising=False)
    assert runs.runs_dir() == tmp_path / "runs"
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "env"))
    assert runs.runs_dir() == tmp_path / "env"
    try:
        wb.config.set_runs_dir(tmp_path / "chosen")
        assert runs.runs_dir() == wb.config.runs_dir() == tmp_path / "chosen"
        logger = RunLogger(checkpoints=False)
        x, y = tiny_data()
        shared_model.fit(x, y, batch_size=32, epochs=1, callbacks=[logger], verbose=0)
        assert logger.path.parent == tmp_path / "chosen"
    finally:
        runs.set_runs_dir(None)
    assert runs.runs_dir() == tmp_path / "env"


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="histogram_freq"):
        RunLogger(histogram_freq=-1)
    with pytest.raises(ValueError, match="histogram_steps"):
        RunLogger(histogram_steps=0)
    with pytest.raises(TypeError, match="hparams"):
        RunLogger(hparams=[("lr", 1)])


def test_gradients_on_the_last_batch_the_trainer_exposes(finished):
    from workbench.runs.histograms import GradientSummaries
    from workbench.training import data as data_mod

    x, y = finished.x[:32], finished.y[:32]
    batch = {"x": x, "y": y, "sample_weight": None, "mask": np.ones(32, "float32")}
    stacked, _ = data_mod.stack([batch, batch], 3)  # a group of three steps, two of them real
    grads = GradientSummaries(finished.model)
    variables = finished.model.get_variables()
    from_group = jax.device_get(grads(variables, stacked, index=1))
    direct = jax.device_get(grads(variables, {"x": x, "y": y, "sample_weight": None}))
    for name in direct:
        np.testing.assert_allclose(from_group[name]["edges"], direct[name]["edges"], rtol=1e-6)
        np.testing.assert_array_equal(from_group[name]["counts"], direct[name]["counts"])


def test_gradient_histograms_without_set_gradient_batch(tmp_path, shared_model):
    x, y = tiny_data()
    logger = RunLogger(root=tmp_path, checkpoints=False, histogram_freq=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shared_model.fit(x, y, batch_size=32, epochs=2, callbacks=[logger], verbose=0)
    sources = {r["source"] for r in lines(logger.path / "histograms.jsonl")}
    named = [w for w in caught if "set_gradient_batch" in str(w.message)]
    if getattr(shared_model, "_last_batch", None) is not None:  # the trainer exposes the last batch trained
        assert sources == {"weights", "gradients"} and named == []
    else:
        assert sources == {"weights"} and len(named) == 1


def test_checkpoint_interval_zero_saves_every_epoch(tmp_path, shared_model):
    logger = RunLogger(root=tmp_path, checkpoint_interval=0)
    x, y = tiny_data()
    shared_model.fit(x, y, batch_size=32, epochs=3, callbacks=[logger], verbose=0)
    steps = _checkpoint_steps(logger.path)
    per_epoch = -(-len(x) // 32)
    assert len(steps) == 2 and steps[1] - steps[0] == per_epoch  # the last two epochs' ends (two kept)


def test_by_default_tensorboard_gets_epoch_scalars_and_metrics_jsonl_every_step(tmp_path, shared_model):
    logger = RunLogger(root=tmp_path, checkpoints=False)
    x, y = tiny_data()
    shared_model.fit(x, y, batch_size=32, epochs=1, callbacks=[logger], verbose=0)
    board = EventAccumulator(str(logger.path / "train"), size_guidance={"scalars": 0})
    board.Reload()
    assert "epoch_loss" in board.Tags()["scalars"] and "batch_loss" not in board.Tags()["scalars"]
    lines = [json.loads(line) for line in (logger.path / "metrics.jsonl").read_text().splitlines()]
    assert sum(r["kind"] == "batch" for r in lines) == -(-len(x) // 32)
    with pytest.raises(ValueError, match="update_freq must be 'epoch' or a positive number of steps, got 0"):
        RunLogger(update_freq=0)
