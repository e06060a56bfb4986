"""Lowering a kernel for a device this machine lacks."""

import contextlib

import pytest


@contextlib.contextmanager
def without_the_device():
    """Skip, with the reason, where this jax lowers Triton kernels only when a GPU is present (jax 0.12)."""
    try:
        yield
    except RuntimeError as e:
        if "No supported GPU devices found" in str(e):
            pytest.skip("this jax lowers Triton kernels only on a machine with a GPU")
        raise
