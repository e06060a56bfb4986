"""Helpers that compare a workbench layer with the same Keras 3 layer (the numerical oracle)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import numpy as np  # noqa: E402

ATOL = 1e-5
RTOL = 1e-5


def _np(tree):
    return jax.tree_util.tree_map(lambda a: np.asarray(a), tree)


def assert_close(ours, theirs, atol=ATOL, rtol=RTOL):
    ours, theirs = _np(ours), _np(theirs)
    lo, lt = jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)
    assert len(lo) == len(lt), f"{len(lo)} outputs vs Keras' {len(lt)}"
    for a, b in zip(lo, lt):
        assert a.shape == b.shape, f"shape {a.shape} vs Keras' {b.shape}"
        np.testing.assert_allclose(a, b, atol=atol, rtol=rtol)


def compare_layer(ours, theirs, *args, training_modes=(False,), atol=ATOL, rtol=RTOL, **kwargs):
    """Build both layers on `args`, copy Keras' weights into ours, compare outputs and counts.

    Returns (our_output, keras_output) of the last mode compared.
    """
    theirs(*args, **kwargs)  # build Keras' layer
    ours(*args, **kwargs)  # build ours
    kw = [w.shape for w in theirs.weights]
    ow = [w.shape for w in ours.weights]
    assert [tuple(s) for s in ow] == [tuple(s) for s in kw], f"weight shapes {ow} vs Keras' {kw}"
    ours.set_weights(theirs.get_weights())
    assert ours.count_params() == theirs.count_params()
    out = None
    for training in training_modes:
        extra = {"training": training} if training is not None else {}
        o = ours(*args, **kwargs, **extra)
        t = theirs(*args, **kwargs, **extra)
        assert_close(o, t, atol=atol, rtol=rtol)
        out = (o, t)
    return out


def random(shape, seed=0, low=-1.0, high=1.0, dtype="float32"):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)
