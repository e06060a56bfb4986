"""model.export(formats=...): the ONNX and SavedModel files sit in the artifact, hashed and checked."""

import importlib.util
import json
import shutil

import numpy as np
import pytest

import workbench as wb
import workbench.export as wx
from tests.export.test_tf_bridge import READS_DYNAMIC

HAS_ONNX = importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("jax2onnx") is not None
HAS_TF = importlib.util.find_spec("tensorflow") is not None


def _convnet():
    inp = wb.Input((8, 8, 1), name="image")
    x = wb.layers.Conv2D(4, 3, activation="relu")(inp)
    x = wb.layers.MaxPooling2D()(x)
    x = wb.layers.Flatten()(x)
    out = wb.layers.Dense(5, activation="softmax", name="probs")(x)
    return wb.Model(inp, out, name="tiny_convnet")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    formats = tuple(f for f, ok in (("onnx", HAS_ONNX), ("saved_model", HAS_TF and READS_DYNAMIC)) if ok)
    if not formats:
        pytest.skip("neither the onnx nor the tf extra is installed")
    model = _convnet()
    path = model.export(tmp_path_factory.mktemp("formats") / "a", formats=formats, platforms="cpu")
    return model, path, formats


def test_each_format_is_listed_hashed_and_was_checked_by_its_runtime(exported):
    _, path, formats = exported
    manifest = json.loads((path / "manifest.json").read_text())
    for fmt in formats:
        entry = manifest["formats"][fmt]["serving_default"]
        assert entry["check"]["max_abs_diff"] <= 1e-5
        runtime = {"onnx": "onnxruntime ", "saved_model": "tensorflow "}[fmt]
        assert entry["check"]["runtime"].startswith(runtime)
        for rel in entry["files"]:
            assert f"{entry['path']}/{rel}" in manifest["files"]


@pytest.mark.skipif(not HAS_ONNX, reason="the onnx extra is not installed")
def test_onnx_file_matches_the_artifact_at_several_batch_sizes(exported):
    import onnxruntime

    model, path, _ = exported
    art = wx.load(path)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path / "onnx/serving_default/model.onnx"), options)
    assert [i.name for i in session.get_inputs()] == ["image"]
    for n in (1, 5, 32):
        x = np.random.default_rng(n).random((n, 8, 8, 1), dtype=np.float32)
        (got,) = session.run(None, {"image": x})
        np.testing.assert_allclose(got, np.asarray(art(x)), atol=1e-5)
        np.testing.assert_allclose(got, np.asarray(model(x)), atol=1e-5)


@pytest.mark.skipif(not (HAS_TF and READS_DYNAMIC), reason="no TensorFlow that reads this jax's programs")
def test_saved_model_matches_the_artifact_at_several_batch_sizes(exported):
    from workbench.export import tf_bridge

    _, path, _ = exported
    art = wx.load(path)
    entry = art.manifest["signatures"]["serving_default"]
    signature = {"name": "serving_default", "inputs": entry["inputs"], "outputs": entry["outputs"]}
    for n in (1, 6):
        x = np.random.default_rng(n).random((n, 8, 8, 1), dtype=np.float32)
        report = tf_bridge.check(path / "saved_model/serving_default", signature, {"image": x},
                                 {"probs": np.asarray(art(x))})
        assert report["max_abs_diff"] <= 1e-5


@pytest.mark.skipif(not HAS_ONNX, reason="the onnx extra is not installed")
def test_a_changed_onnx_file_fails_the_artifact_check(exported, tmp_path):
    _, path, _ = exported
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    onnx_file = copy / "onnx/serving_default/model.onnx"
    data = bytearray(onnx_file.read_bytes())
    data[-10] ^= 0xFF
    onnx_file.write_bytes(bytes(data))
    with pytest.raises(wx.ArtifactError, match="model.onnx failed its checksum"):
        wx.load(copy)


def test_unknown_formats_are_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match=r"formats= takes any of \['onnx', 'saved_model'\]; got \['tflite'\]"):
        _convnet().export(tmp_path / "a", formats=("tflite",))
    assert not (tmp_path / "a").exists()
