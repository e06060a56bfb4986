"""Weights and model files: round trips, and refusal of truncated or tampered files."""

import io
import pathlib
import re
import zipfile

import numpy as np
import pytest

import workbench
from workbench import layers
from workbench.saving import CorruptFileError


def model():
    m = workbench.Sequential([workbench.Input((4,)), layers.Dense(8, activation="relu"),
                              layers.BatchNormalization() if hasattr(layers, "BatchNormalization") else layers.Identity(),
                              layers.Dense(2)])
    m(np.ones((2, 4), "float32"))
    return m


def test_save_weights_round_trip(tmp_path):
    a, b = model(), model()
    x = np.random.rand(3, 4).astype("float32")
    a.save_weights(tmp_path / "m.weights.h5")
    b.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(np.asarray(a(x)), np.asarray(b(x)))


def test_truncated_weights_file_fails_clearly(tmp_path):
    a = model()
    path = tmp_path / "m.weights.safetensors"
    a.save_weights(path)
    data = path.read_bytes()
    for cut in (4, 40, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(CorruptFileError, match="truncated|not a"):
            model().load_weights(path)


def test_tampered_weights_file_fails_checksum_and_leaves_model_untouched(tmp_path):
    a = model()
    path = tmp_path / "m.weights.safetensors"
    a.save_weights(path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # flip bits inside the last tensor's bytes
    path.write_bytes(bytes(data))
    b = model()
    before = b.get_weights()
    with pytest.raises(CorruptFileError, match="checksum"):
        b.load_weights(path)
    for w0, w1 in zip(before, b.get_weights()):
        np.testing.assert_array_equal(w0, w1)


def test_weights_of_another_architecture_are_refused_before_assignment(tmp_path):
    a = model()
    a.save_weights(tmp_path / "a.weights.h5")
    other = workbench.Sequential([workbench.Input((4,)), layers.Dense(3)])
    other(np.ones((1, 4), "float32"))
    before = other.get_weights()
    with pytest.raises(ValueError, match="holds"):
        other.load_weights(tmp_path / "a.weights.h5")
    for w0, w1 in zip(before, other.get_weights()):
        np.testing.assert_array_equal(w0, w1)


def test_truncated_or_tampered_model_file(tmp_path):
    m = model()
    path = tmp_path / "m.keras"
    m.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError):
        workbench.models.load_model(path)
    # change one weight byte inside the zip (stored uncompressed)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        member = zf.read("model.weights.safetensors")
    raw = bytearray(data)
    at = raw.find(member)
    assert at > 0
    raw[at + len(member) - 1] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError):
        workbench.models.load_model(path)


def test_save_requires_keras_suffix_and_does_not_clobber(tmp_path):
    m = model()
    with pytest.raises(ValueError, match=r"\.keras"):
        m.save(tmp_path / "model.h5")
    target = tmp_path / "keep.keras"
    m.save(target)
    original = target.read_bytes()
    with pytest.raises(FileExistsError):
        m.save(target, overwrite=False)
    assert target.read_bytes() == original


def test_package_never_unpickles():
    root = pathlib.Path(workbench.__file__).parent
    pattern = re.compile(r"^\s*(import pickle|from pickle|import cloudpickle|import dill)|pickle\.loads?\(|allow_pickle=True", re.M)
    # workbench/data/workers.py hands a pipeline to the worker processes it spawns (cloudpickle, in
    # memory, from this process): the one place that unpickles, and it never reads a file.
    allowed = {root / "data" / "workers.py"}
    offenders = [str(p) for p in root.rglob("*.py") if p not in allowed and pattern.search(p.read_text())]
    assert offenders == []
    assert not re.search(r"open\(|np\.load|read_bytes|Path\(", (root / "data" / "workers.py").read_text())


def test_saved_files_get_the_mode_the_umask_gives(tmp_path):
    import os

    m = model()
    old = os.umask(0o022)
    try:
        m.save(tmp_path / "m.keras")
        m.save_weights(tmp_path / "m.weights.h5")
    finally:
        os.umask(old)
    for name in ("m.keras", "m.weights.h5"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644
