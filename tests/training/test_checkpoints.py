"""Checkpoints: exact resume after SIGKILL, corrupted checkpoints skipped, ModelCheckpoint's forms."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import workbench as wb
from workbench import layers
from workbench.training import checkpoints
from workbench.training.checkpoint_callbacks import BackupAndRestore, ModelCheckpoint

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import workbench as wb
    from workbench import layers
    from workbench.training.checkpoint_callbacks import BackupAndRestore

    backup, out = sys.argv[1], sys.argv[2]
    wb.utils.set_random_seed(7)
    model = wb.Sequential([
        layers.Input((24,)), layers.Dense(64, activation="relu"), layers.Dropout(0.25),
        layers.BatchNormalization(), layers.Dense(64, activation="relu"), layers.Dense(5),
    ])
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 24)).astype("float32")
    y = (x[:, :5].argmax(1) + (x[:, 5] > 1)).astype("int32") % 5

    class Report(wb.callbacks.Callback):
        def on_train_begin(self, logs=None):
            print("begin", model._fit_position["epoch"], model._fit_position["step"], flush=True)

        def on_train_batch_end(self, batch, logs=None):
            print("step", int(model._train_state["step"]), flush=True)

    callbacks = [BackupAndRestore(backup, save_freq=20)] if backup != "-" else []
    if sys.argv[3] == "arrays":
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=callbacks + [Report()])
    else:
        from workbench.data import Dataset

        def jitter(features, label, rng):
            return features + rng.normal(0.0, 0.1, features.shape).astype("float32"), label

        if sys.argv[3] == "dataset":  # random access: shuffle, random map, batch
            data = Dataset.from_tensor_slices((x, y)).shuffle(1000).random_map(jitter).batch(16)
        else:  # a stream: generator, filter, buffer shuffle, random map, batch, prefetch
            data = (Dataset.from_generator(lambda: zip(x, y)).filter(lambda f, label: label != 4)
                    .shuffle(500).random_map(jitter).batch(16).prefetch(2))
        model.fit(data, epochs=3, verbose=0, callbacks=callbacks + [Report()])
    np.savez(out, *[np.asarray(w) for w in model.get_weights()])
    print("done", flush=True)
    """
)


def _child(tmp_path, backup: str, out: Path, inputs: str = "arrays") -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "WORKBENCH_COMPILATION_CACHE_DIR": str(tmp_path / "jit-cache"),
    }
    return subprocess.Popen(
        [sys.executable, str(script), backup, str(out), inputs],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


@pytest.mark.parametrize("inputs", ["arrays", "dataset", "stream"])
def test_sigkill_at_random_moments_then_resume_is_bitwise_identical(tmp_path, inputs):
    reference = _child(tmp_path, "-", tmp_path / "reference.npz", inputs)
    out, _ = reference.communicate(timeout=240)
    assert reference.returncode == 0, out
    total_steps = max(int(line.split()[1]) for line in out.splitlines() if line.startswith("step "))

    backup = tmp_path / "backup"
    result = tmp_path / "resumed.npz"
    rng = np.random.default_rng(int(time.time()))
    kills, begins = 0, []
    while True:
        proc = _child(tmp_path, str(backup), result, inputs)
        lines = []
        target = int(rng.integers(total_steps // 8, total_steps)) if kills < 3 else None
        killed = False
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("begin"):
                begins.append(tuple(int(v) for v in line.split()[1:]))
            if target is not None and line.startswith("step") and int(line.split()[1]) >= target:
                time.sleep(float(rng.uniform(0.0, 0.05)))  # land anywhere: mid-step, mid-save
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
        proc.wait(timeout=240)
        if killed:
            kills += 1
            continue
        assert proc.returncode == 0, "".join(lines)
        break

    assert kills == 3
    # Every restart after the first continued from a checkpoint, not from the start.
    assert all(b != (0, 0) for b in begins[1:]), begins
    for a, b in zip(_weights(tmp_path / "reference.npz"), _weights(result)):
        np.testing.assert_array_equal(a, b)
    assert not backup.exists(), "backups are deleted once training finishes (delete_checkpoint=True)"


def _model(seed=0):
    wb.utils.set_random_seed(seed)
    # Fixed names: every model here compiles to the same program, which the compilation cache then serves.
    model = wb.Sequential(
        [
            layers.Input((8,)),
            layers.Dense(16, activation="relu", name="hidden"),
            layers.Dropout(0.2, name="drop"),
            layers.Dense(3, name="logits"),
        ],
        name="clf",
    )
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def _data(n=256):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1).astype("int32")


class _Crash(wb.callbacks.Callback):
    def __init__(self, at_step):
        super().__init__()
        self.at_step = at_step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model._train_state["step"]) >= self.at_step:
            raise RuntimeError("simulated crash")


def _crash_then_resume(tmp_path, save_freq, crash_at, epochs=3, corrupt=None):
    x, y = _data()
    reference = _model()
    ref_hist = reference.fit(x, y, batch_size=8, epochs=epochs, verbose=0)
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _model().fit(
            x,
            y,
            batch_size=8,
            epochs=epochs,
            verbose=0,
            callbacks=[BackupAndRestore(backup, save_freq=save_freq, max_to_keep=3), _Crash(crash_at)],
        )
    if corrupt:
        corrupt(backup)
    model = _model(seed=1)  # another seed: everything comes from the backup
    hist = model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=[BackupAndRestore(backup)])
    return reference, ref_hist, model, hist


def test_epoch_backups_resume_exactly_with_history(tmp_path):
    reference, ref_hist, model, hist = _crash_then_resume(tmp_path, "epoch", crash_at=32 * 2 + 5)
    for a, b in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert hist.history == ref_hist.history
    assert not (tmp_path / "backup").exists()


def _corrupt_newest(backup: Path):
    newest = max((p for p in backup.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    data = [p for p in (newest / "state").rglob("*") if p.is_file() and p.parent.name == "d"]
    assert data
    for path in data:
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        path.write_bytes(bytes(raw))
    return newest


def test_a_corrupted_newest_checkpoint_is_skipped_with_a_warning(tmp_path):
    newest = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reference, _, model, _ = _crash_then_resume(
            tmp_path, 10, crash_at=70, corrupt=lambda b: newest.append(_corrupt_newest(b))
        )
    messages = [str(w.message) for w in caught if "Skipping checkpoint" in str(w.message)]
    assert messages and str(newest[0]) in messages[0]
    for a, b in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)  # resumed from the one before, still exact


def test_a_half_written_checkpoint_folder_is_ignored(tmp_path):
    def leave_partial(backup: Path):
        partial = backup / "999.orbax-checkpoint-tmp-1234"
        (partial / "state").mkdir(parents=True)
        (partial / "state" / "garbage").write_bytes(b"\0" * 10)

    reference, _, model, _ = _crash_then_resume(tmp_path, 10, crash_at=50, corrupt=leave_partial)
    for a, b in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_backup_of_another_model_is_refused(tmp_path):
    x, y = _data()
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError):
        _model().fit(
            x,
            y,
            batch_size=8,
            epochs=2,
            verbose=0,
            callbacks=[BackupAndRestore(backup, save_freq=5), _Crash(20)],
        )
    other = wb.Sequential([layers.Input((8,)), layers.Dense(4), layers.Dense(3)])
    other.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(checkpoints.CheckpointMismatchError, match="different model|holds"):
        other.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[BackupAndRestore(backup)])


def test_bad_arguments():
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore("somewhere", save_freq=0)
    with pytest.raises(ValueError, match="backup_dir"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="weights"):
        ModelCheckpoint("m.keras", save_weights_only=True)
    with pytest.raises(ValueError, match="save_weights_only"):
        ModelCheckpoint("m.weights.h5")
    with pytest.raises(ValueError, match="mode"):
        ModelCheckpoint("m.keras", mode="up")


def test_model_checkpoint_writes_keras_files_and_keeps_the_best(tmp_path):
    x, y = _data()
    model = _model()
    path = tmp_path / "ckpt-{epoch:02d}-{val_loss:.3f}.keras"
    best = tmp_path / "best.weights.h5"
    hist = model.fit(
        x,
        y,
        batch_size=16,
        epochs=3,
        verbose=0,
        validation_split=0.25,
        callbacks=[ModelCheckpoint(path), ModelCheckpoint(best, save_best_only=True, save_weights_only=True)],
    )
    names = sorted(p.name for p in tmp_path.glob("ckpt-*.keras"))
    expected = [f"ckpt-{e + 1:02d}-{v:.3f}.keras" for e, v in enumerate(hist.history["val_loss"])]
    assert names == sorted(expected)
    reloaded = wb.saving.load_model(tmp_path / expected[-1], compile=False)
    for a, b in zip(model.get_weights(), reloaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert best.exists()


def test_model_checkpoint_verbose_prints_both_values_with_five_decimals(tmp_path, capsys):
    x, y = _data()
    checkpoint = ModelCheckpoint(tmp_path / "best.weights.h5", save_best_only=True, save_weights_only=True,
                                 verbose=1)
    _model().fit(x, y, batch_size=16, epochs=2, verbose=0, validation_split=0.25, callbacks=[checkpoint])
    lines = [line for line in capsys.readouterr().out.splitlines() if "improved" in line]
    assert lines[0].startswith("ModelCheckpoint: val_loss improved from nothing to ")
    for line in lines[1:]:
        assert re.fullmatch(r"ModelCheckpoint: val_loss improved from \d+\.\d{5} to \d+\.\d{5}\.", line), line


def test_model_checkpoint_folder_holds_orbax_train_states_that_restore(tmp_path):
    x, y = _data()
    model = _model()
    folder = tmp_path / "states"
    model.fit(
        x,
        y,
        batch_size=16,
        epochs=3,
        verbose=0,
        callbacks=[ModelCheckpoint(folder, monitor="loss", max_to_keep=2)],
    )
    steps = sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())
    assert steps == [32, 48]  # 16 batches an epoch, the newest two of three kept
    trained = model.get_weights()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # move on, then go back
    record = checkpoints.restore_model(model, folder)
    assert record["position"] == {"epoch": 3, "step": 0}
    for a, b in zip(trained, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(model._train_state["step"]) == 48
    fresh = _model(seed=5)
    fresh(x[:1])
    checkpoints.restore_model(fresh, folder, step=32)
    assert int(fresh._train_state["step"]) == 32
