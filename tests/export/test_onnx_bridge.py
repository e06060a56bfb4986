import sys

import numpy as np
import pytest

from tests.export import bridge_models
from workbench.export import onnx_bridge

pytest.importorskip("jax2onnx")
pytest.importorskip("onnxruntime")

CASES = {
    "mlp": bridge_models.mlp,
    "convnet": bridge_models.convnet,
    "two_in_two_out": bridge_models.two_in_two_out,
}


@pytest.fixture(scope="module", params=list(CASES))
def written(request, tmp_path_factory):
    case = CASES[request.param]()
    out_dir = tmp_path_factory.mktemp(request.param) / "onnx"
    files = onnx_bridge.write(case.fn, case.weights, case.signature, out_dir)
    return case, out_dir, files


def test_one_dynamic_export_matches_jax_at_every_batch_size(written):
    case, out_dir, files = written
    assert files == ["model.onnx"]
    for batch in (1, 3, 17):
        inputs = case.inputs(batch, seed=batch)
        report = onnx_bridge.check(out_dir, case.signature, inputs, case.expected(inputs))
        assert report["max_abs_diff"] <= 1e-5
        assert [o["name"] for o in report["outputs"]] == [o["name"] for o in case.signature["outputs"]]
        assert [o["shape"][0] for o in report["outputs"]] == [batch] * len(case.signature["outputs"])
    assert report["runtime"].startswith("onnxruntime ")
    assert report["inputs"] == [{"name": s["name"], "shape": s["shape"]} for s in case.signature["inputs"]]


def test_check_fails_when_the_outputs_differ(written):
    case, out_dir, _ = written
    inputs = case.inputs(2)
    expected = case.expected(inputs)
    last = case.signature["outputs"][-1]["name"]
    expected[last] = expected[last] + 1e-2
    with pytest.raises(onnx_bridge.BridgeCheckError, match=rf"'{last}' \(largest difference 0.01\)"):
        onnx_bridge.check(out_dir, case.signature, inputs, expected)


def test_fixed_batch_export_records_and_enforces_its_size(tmp_path):
    case = bridge_models.with_fixed_batch(bridge_models.mlp(), 4)
    onnx_bridge.write(case.fn, case.weights, case.signature, tmp_path, batch=4)
    inputs = case.inputs(4)
    report = onnx_bridge.check(tmp_path, case.signature, inputs, case.expected(inputs))
    assert report["inputs"] == [{"name": "x", "shape": [4, 8]}]
    other = case.inputs(3)
    with pytest.raises(onnx_bridge.BridgeCheckError, match=r"failed on inputs \{'x': \[3, 8\]\}"):
        onnx_bridge.check(tmp_path, case.signature, other, case.expected(other))


def test_an_int_batch_fixes_a_symbolic_signature(tmp_path):
    case = bridge_models.mlp()
    onnx_bridge.write(case.fn, case.weights, case.signature, tmp_path, batch=2)
    inputs = case.inputs(2)
    report = onnx_bridge.check(tmp_path, case.signature, inputs, case.expected(inputs))
    assert report["inputs"][0]["shape"] == [2, 8]


def test_a_primitive_jax2onnx_lacks_is_reported_with_the_signature_name(tmp_path):
    import jax

    def reversed_cumsum(weights, x):
        return (jax.lax.scan(lambda c, v: (c + v, c + v), x[0] * 0, x, reverse=True)[1],)

    signature = {
        "name": "rev",
        "inputs": [{"name": "x", "dtype": "float32", "shape": ["batch", 3]}],
        "outputs": [{"name": "y", "dtype": "float32", "shape": ["batch", 3]}],
    }
    with pytest.raises(onnx_bridge.BridgeConversionError, match="could not convert signature 'rev'"):
        onnx_bridge.write(reversed_cumsum, [], signature, tmp_path)


def test_outputs_that_do_not_match_the_signature_are_refused(tmp_path):
    case = bridge_models.mlp()
    signature = dict(
        case.signature,
        outputs=[*case.signature["outputs"], {"name": "extra", "dtype": "float32", "shape": ["batch", 1]}],
    )
    with pytest.raises(ValueError, match=r"declares 2 output\(s\) \['probs', 'extra'\]; fn returned 1"):
        onnx_bridge.write(case.fn, case.weights, signature, tmp_path)


def test_missing_converter_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "jax2onnx", None)
    case = bridge_models.mlp()
    with pytest.raises(ImportError, match=r'pip install "jax-workbench\[onnx\]"'):
        onnx_bridge.write(case.fn, case.weights, case.signature, tmp_path)


def test_a_model_without_initializers_round_trips(tmp_path):
    signature = {
        "name": "serving_default",
        "inputs": [
            {"name": "a", "dtype": "float32", "shape": ["batch", 2]},
            {"name": "b", "dtype": "float32", "shape": ["batch", 2]},
        ],
        "outputs": [{"name": "sum", "dtype": "float32", "shape": ["batch", 2]}],
    }
    onnx_bridge.write(lambda weights, a, b: (a + b,), [], signature, tmp_path)
    a, b = np.ones((5, 2), np.float32), np.full((5, 2), 2, np.float32)
    report = onnx_bridge.check(tmp_path, signature, {"a": a, "b": b}, {"sum": a + b})
    assert report["max_abs_diff"] == 0.0


def test_large_weights_go_to_a_sidecar_that_loads_with_the_model(monkeypatch, tmp_path):
    monkeypatch.setattr(onnx_bridge, "EXTERNAL_DATA_BYTES", 1)
    signature = {
        "name": "serving_default",
        "inputs": [{"name": "x", "dtype": "float32", "shape": ["batch", 32]}],
        "outputs": [{"name": "y", "dtype": "float32", "shape": ["batch", 32]}],
    }
    w = np.random.default_rng(0).normal(size=(32, 32)).astype(np.float32)
    files = onnx_bridge.write(lambda weights, x: (x @ weights[0],), [w], signature, tmp_path)
    assert files == ["model.onnx", "model.onnx.data"]
    x = np.ones((3, 32), np.float32)
    report = onnx_bridge.check(tmp_path, signature, {"x": x}, {"y": x @ w}, atol=1e-4)
    assert report["max_abs_diff"] < 1e-4
