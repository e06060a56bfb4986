"""Dispatch: what "auto" and a forced implementation pick, and every fallback, on fake ops and platforms."""

import json
import logging
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from workbench.kernels import dispatch

CALLS = []


def _reference(x, *, factor=2.0):
    CALLS.append("xla")
    return x * factor


def _pallas(x, *, interpret, factor=2.0):
    CALLS.append(("pallas", interpret))
    return x * factor


def _slow(x, *, factor=2.0):
    CALLS.append("cudnn")

    def wait(a):
        time.sleep(0.01)
        return a

    return jax.pure_callback(wait, jax.ShapeDtypeStruct(x.shape, x.dtype), x) * factor


def _float_only(x, **kwargs):
    return None if x.dtype == jnp.float32 else f"dtype {x.dtype} is not float32"


@pytest.fixture(autouse=True)
def fake_op(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_KERNEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dispatch, "_table", None)
    dispatch.register("double", "xla", _reference)
    dispatch.register("double", "pallas", _pallas, platforms=("cuda", "tpu"), supports=_float_only)
    dispatch.register("double", "cudnn", _slow, platforms=("cuda",))
    CALLS.clear()
    yield
    dispatch._registry.pop("double", None)
    dispatch.set_default_implementation(None)


def test_auto_on_cpu_is_the_reference():
    out = dispatch.call("double", "auto", jnp.ones(3))
    np.testing.assert_array_equal(out, [2, 2, 2])
    assert CALLS == ["xla"]


def test_forcing_pallas_on_cpu_runs_interpret_mode_and_says_so(caplog):
    with caplog.at_level(logging.INFO, logger="workbench.kernels"):
        dispatch.call("double", "pallas", jnp.ones(3))
    assert CALLS == [("pallas", True)]
    assert "interpret mode" in caplog.text


def test_a_call_the_kernel_cannot_take_falls_back_with_the_reason(caplog):
    with caplog.at_level(logging.DEBUG, logger="workbench.kernels"):
        dispatch.call("double", "pallas", jnp.ones(3, jnp.int32))
    assert CALLS == ["xla"]
    assert "dtype int32 is not float32" in caplog.text


def test_symbolic_shapes_and_portable_tracing_take_the_reference(caplog):
    from workbench.core import context

    (b,) = jax.export.symbolic_shape("b")
    with caplog.at_level(logging.DEBUG, logger="workbench.kernels"):
        jax.export.export(jax.jit(lambda x: dispatch.call("double", "pallas", x)))(
            jax.ShapeDtypeStruct((b, 3), jnp.float32))
    assert CALLS == ["xla"] and "symbolic shapes" in caplog.text
    CALLS.clear()
    with context.portable_scope():
        dispatch.call("double", "pallas", jnp.ones(3))
    assert CALLS == ["xla"]


def test_an_implementation_for_another_platform_falls_back(caplog):
    with caplog.at_level(logging.DEBUG, logger="workbench.kernels"):
        dispatch.call("double", "cudnn", jnp.ones(3))
    assert CALLS == ["xla"] and "does not run on cpu" in caplog.text


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="implementation is 'auto' or one of"):
        dispatch.call("double", "triton", jnp.ones(3))
    with pytest.raises(KeyError, match="No kernel op 'triple'"):
        dispatch.call("triple", "auto", jnp.ones(3))
    with pytest.raises(ValueError, match="one of"):
        dispatch.set_default_implementation("fast")


def test_the_default_implementation_follows_the_setting_and_the_environment(monkeypatch):
    monkeypatch.setenv("WORKBENCH_KERNELS", "pallas")
    dispatch.call("double", None, jnp.ones(3))
    dispatch.set_default_implementation("xla")
    dispatch.call("double", None, jnp.ones(3))
    assert CALLS == [("pallas", True), "xla"]


def test_auto_on_a_gpu_measures_once_caches_on_disk_and_picks_the_fastest(monkeypatch):
    monkeypatch.setattr(dispatch, "platform", lambda: "cuda")
    x = jnp.ones((64, 64))
    dispatch.call("double", "auto", x)
    table = json.loads(dispatch.cache_path().read_text())
    (key, entry), = table.items()
    assert "|double|forward|64x64:float32|" in key
    assert set(entry["seconds"]) == {"xla", "pallas", "cudnn"}
    assert entry["winner"] == min(entry["seconds"], key=entry["seconds"].get)
    assert entry["winner"] != "cudnn" and entry["seconds"]["cudnn"] >= 0.01  # it sleeps 10 ms per call
    CALLS.clear()
    monkeypatch.setattr(dispatch, "_table", None)  # a new process reads the table instead of measuring
    monkeypatch.setattr(dispatch, "measure", lambda *a, **k: pytest.fail("measured again"))
    dispatch.call("double", "auto", jnp.ones((50, 60)))  # the same bucket: 64x64
    assert len(CALLS) == 1


def test_an_unreadable_table_is_measured_again(monkeypatch, caplog):
    monkeypatch.setattr(dispatch, "platform", lambda: "cuda")
    dispatch.cache_path().parent.mkdir(parents=True)
    dispatch.cache_path().write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="workbench.kernels"):
        dispatch.call("double", "auto", jnp.ones(8))
    assert "unreadable autotune table" in caplog.text
    assert json.loads(dispatch.cache_path().read_text())


def test_autotuning_inside_jit_measures_on_concrete_arrays(monkeypatch):
    monkeypatch.setattr(dispatch, "platform", lambda: "cuda")
    out = jax.jit(lambda x: dispatch.call("double", "auto", x))(jnp.ones((4, 4)))
    np.testing.assert_array_equal(out, np.full((4, 4), 2.0))
    assert json.loads(dispatch.cache_path().read_text())


def test_static_arguments_are_part_of_the_autotune_key(monkeypatch):
    monkeypatch.setattr(dispatch, "platform", lambda: "cuda")
    dispatch.call("double", "auto", jnp.ones(8), factor=2.0)
    dispatch.call("double", "auto", jnp.ones(8), factor=3.0)
    keys = sorted(json.loads(dispatch.cache_path().read_text()))
    assert [key.rsplit("|", 1)[1] for key in keys] == ["factor=2.0", "factor=3.0"]


def test_an_autotuned_winner_that_refuses_a_call_falls_back(monkeypatch, caplog):
    monkeypatch.setattr(dispatch, "platform", lambda: "cuda")
    monkeypatch.setattr(dispatch, "autotuned", lambda op, args, kwargs: ("pallas", {}))
    with caplog.at_level(logging.DEBUG, logger="workbench.kernels"):
        dispatch.call("double", "auto", jnp.ones(4, jnp.int32))
    assert CALLS == ["xla"] and "the autotuned pallas cannot take this call" in caplog.text


def _sleepy(x, seconds):
    def wait(a):
        time.sleep(seconds)
        return a

    return jax.pure_callback(wait, jax.ShapeDtypeStruct(x.shape, x.dtype), x)


def _tuned_pallas(x, *, interpret, block=8):
    CALLS.append(("pallas", block))
    return _sleepy(x, 0.01) if block == 8 else x  # the default block is the slow one


@pytest.fixture
def tuned_op():
    dispatch.register("tuned", "xla", lambda x: _sleepy(x, 0.005))
    dispatch.register("tuned", "pallas", _tuned_pallas, platforms=("cuda",),
                      tunings=lambda x: [{"block": 8}, {"block": 32}])
    yield
    dispatch._registry.pop("tuned", None)


def test_autotuning_times_each_tuning_and_calls_with_the_fastest(monkeypatch, tuned_op):
    monkeypatch.setattr(dispatch, "platform", lambda: "cuda")
    dispatch.call("tuned", "auto", jnp.ones(16))
    (entry,) = json.loads(dispatch.cache_path().read_text()).values()
    assert (entry["winner"], entry["tuning"]) == ("pallas", {"block": 32})
    assert entry["tunings"] == {"xla": {}, "pallas": {"block": 32}}
    assert entry["seconds"]["xla"] >= 0.005 > entry["seconds"]["pallas"]
    # Timed: the default ({}, block 8) and block 32; {"block": 8} is the default again and not timed twice.
    assert sorted({c[1] for c in CALLS if isinstance(c, tuple)}) == [8, 32]
    CALLS.clear()
    monkeypatch.setattr(dispatch, "_table", None)
    dispatch.call("tuned", "auto", jnp.ones(16))
    assert CALLS == [("pallas", 32)]
    # A forced implementation runs with its own defaults.
    CALLS.clear()
    dispatch.call("tuned", "pallas", jnp.ones(16))
    assert CALLS == [("pallas", 8)]


def test_a_differentiated_call_is_tuned_on_forward_and_backward(monkeypatch):
    monkeypatch.setattr(dispatch, "platform", lambda: "cuda")
    seen = []
    measure = dispatch.measure
    monkeypatch.setattr(dispatch, "measure", lambda *a, **k: seen.append(k) or measure(*a, **k))
    grad = jax.grad(lambda x: dispatch.call("double", "auto", x).sum())(jnp.ones(8))
    np.testing.assert_array_equal(grad, np.full(8, 2.0))
    dispatch.call("double", "auto", jnp.ones(8))
    table = json.loads(dispatch.cache_path().read_text())
    by_mode = {key.split("|")[2]: entry for key, entry in table.items()}
    assert set(by_mode) == {"grad", "forward"} and seen == [{"backward": True}, {"backward": False}]
    # The cuDNN stand-in is a host callback with no derivative: it competes forward only.
    assert set(by_mode["grad"]["seconds"]) == {"xla", "pallas"}
    assert set(by_mode["forward"]["seconds"]) == {"xla", "pallas", "cudnn"}


def test_a_table_entry_without_a_tuning_still_reads(monkeypatch):
    monkeypatch.setattr(dispatch, "platform", lambda: "cuda")
    x = jnp.ones(8)
    key = dispatch._key("double", (x,), {}, "forward")
    dispatch.cache_path().parent.mkdir(parents=True)
    dispatch.cache_path().write_text(json.dumps({key: {"winner": "pallas", "seconds": {"pallas": 1e-6}}}))
    monkeypatch.setattr(dispatch, "measure", lambda *a, **k: pytest.fail("measured again"))
    dispatch.call("double", "auto", x)
    assert CALLS == [("pallas", False)]
