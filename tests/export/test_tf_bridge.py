"""The SavedModel bridge. TensorFlow runs in the bridge's child process, so this module never imports it."""

import importlib.util

import pytest

from tests.export import bridge_models
from workbench.export import tf_bridge

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None, reason="tensorflow not installed"
)


def _tensorflow_reads_symbolic_programs_of_this_jax() -> bool:
    """TensorFlow 2.21 reads the StableHLO of jax 0.10/0.11; jax 0.12 writes symbolic shapes in a newer form."""
    from importlib import metadata

    import jax

    tf_version = None
    for dist in ("tensorflow-cpu", "tensorflow"):
        try:
            tf_version = metadata.version(dist)
            break
        except metadata.PackageNotFoundError:
            continue
    if tf_version is None:
        return True

    def major_minor(text):
        return tuple(int(p) for p in text.split(".")[:2])

    return not (major_minor(jax.__version__) >= (0, 12) and major_minor(tf_version) <= (2, 21))


READS_DYNAMIC = _tensorflow_reads_symbolic_programs_of_this_jax()
dynamic = pytest.mark.skipif(not READS_DYNAMIC, reason="this TensorFlow cannot read this jax's symbolic-shape "
                             "programs (see test_a_too_old_tensorflow_says_what_to_do)")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One conversion, shared: two inputs (float32 and int32), two outputs, a dynamic batch."""
    case = bridge_models.two_in_two_out()
    case.signature["name"] = "predict"
    out_dir = tmp_path_factory.mktemp("tf") / "saved_model"
    files = tf_bridge.write(case.fn, case.weights, case.signature, out_dir)
    yield case, out_dir, files
    tf_bridge.close()


@dynamic
def test_one_dynamic_export_matches_jax_at_every_batch_size(written):
    case, out_dir, files = written
    assert "saved_model.pb" in files and any(f.startswith("variables/") for f in files)
    for batch in (1, 3, 17):
        inputs = case.inputs(batch, seed=batch)
        report = tf_bridge.check(out_dir, case.signature, inputs, case.expected(inputs))
        assert report["max_abs_diff"] <= 1e-5
        assert {o["name"]: o["shape"] for o in report["outputs"]} == {
            "score": [batch, 1],
            "probs": [batch, 2],
        }
    assert report["runtime"].startswith("tensorflow ")
    assert report["inputs"] == [
        {"name": "features", "shape": [None, 6]},
        {"name": "tokens", "shape": [None, 5]},
    ]
    # TF Serving finds the default key; the weights are variables, not constants folded into the graph
    assert report["signatures"] == ["predict", "serving_default"]
    assert report["variables"] == len(case.weights)


@dynamic
def test_check_fails_when_the_outputs_differ(written):
    case, out_dir, _ = written
    inputs = case.inputs(2)
    expected = case.expected(inputs)
    expected["score"] = expected["score"] - 0.5
    with pytest.raises(tf_bridge.BridgeCheckError, match=r"'score' \(largest difference 0.5\)"):
        tf_bridge.check(out_dir, case.signature, inputs, expected)


def test_fixed_batch_export_records_and_enforces_its_size(tmp_path):
    case = bridge_models.with_fixed_batch(bridge_models.convnet(), 2)
    tf_bridge.write(case.fn, case.weights, case.signature, tmp_path, batch=2)
    inputs = case.inputs(2)
    report = tf_bridge.check(tmp_path, case.signature, inputs, case.expected(inputs))
    assert report["max_abs_diff"] <= 1e-5
    assert report["inputs"] == [{"name": "image", "shape": [2, 12, 12, 3]}]
    other = case.inputs(3)
    with pytest.raises(
        tf_bridge.BridgeCheckError, match="TensorFlow could not run signature 'serving_default'"
    ):
        tf_bridge.check(tmp_path, case.signature, other, case.expected(other))


def test_missing_tensorflow_names_the_extra(monkeypatch, tmp_path):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorflow" else find_spec(name, *a)
    )
    case = bridge_models.mlp()
    with pytest.raises(ImportError, match=r'pip install "jax-workbench\[tf\]"'):
        tf_bridge.write(case.fn, case.weights, case.signature, tmp_path)


@pytest.mark.skipif(READS_DYNAMIC, reason="this TensorFlow reads this jax's symbolic-shape programs")
def test_a_too_old_tensorflow_says_what_to_do(tmp_path):
    case = bridge_models.mlp()
    inputs = case.inputs(2)
    with pytest.raises(Exception, match="Install a TensorFlow released after this jax"):
        tf_bridge.write(case.fn, case.weights, case.signature, tmp_path)
        tf_bridge.check(tmp_path, case.signature, inputs, case.expected(inputs))  # loading is what fails
