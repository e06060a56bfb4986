"""Mixed precision: float32 variables, bfloat16 compute."""

import jax.numpy as jnp
import numpy as np
import pytest

import workbench
from workbench import layers


@pytest.fixture
def mixed():
    workbench.config.set_dtype_policy("mixed_bfloat16")
    yield
    workbench.config.set_dtype_policy("float32")


def test_global_mixed_policy(mixed):
    d = layers.Dense(4)
    y = d(np.ones((2, 3), "float32"))
    assert d.kernel.dtype == jnp.float32
    assert y.dtype == jnp.bfloat16
    assert d.dtype_policy.name == "mixed_bfloat16" and d.compute_dtype == "bfloat16"


def test_per_layer_dtype_and_result_close_to_float32():
    x = np.random.rand(4, 8).astype("float32")
    d32 = layers.Dense(5)
    d16 = layers.Dense(5, dtype="mixed_bfloat16")
    d32(x)
    d16(x)
    d16.set_weights(d32.get_weights())
    y16 = d16(x)
    assert y16.dtype == jnp.bfloat16 and d16.kernel.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(y16, "float32"), np.asarray(d32(x)), atol=5e-2)


def test_policy_survives_config_round_trip():
    d = layers.Dense(5, dtype="mixed_bfloat16")
    assert layers.Dense.from_config(d.get_config()).dtype_policy.name == "mixed_bfloat16"


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="mixed_float16"):
        workbench.config.set_dtype_policy("mixed_int8")
