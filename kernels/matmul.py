"""A tiled matrix multiplication in Pallas, with the bias and activation fused into its last step.

How the kernel works, for `out = activation(a @ b + bias)` with `a` of shape
`[M, K]` and `b` of shape `[K, N]`:

1. The output is cut into tiles of `block_m x block_n`. The grid has one
   program per tile: program `(i, j)` owns rows `i*block_m ...` and columns
   `j*block_n ...` of the output.
2. A program walks along K in steps of `block_k`. At step `k` it loads the
   `block_m x block_k` piece of `a` (its rows, columns `k*block_k ...`) and
   the `block_k x block_n` piece of `b`, multiplies them on the tensor cores
   and adds the product to a float32 accumulator that stays in registers.
   After the last step the accumulator holds this tile of `a @ b`.
3. The epilogue adds the bias and applies the activation while the tile is
   still in registers, then casts and writes it once. Unfused, XLA would
   write `a @ b` to memory, read it back to add the bias, and again for the
   activation.

Shapes need not be multiples of the blocks: the pieces that hang over the
edge of `a`, `b` or the output are masked, loaded as zeros (which add
nothing to the sum) and never stored. Triton, which this kernel is lowered
with on GPUs, also wants power-of-two blocks of at least 16.

The gradient reuses the same kernel: with `z = a @ b + bias` saved by the
forward pass, `dz = dout * activation'(z)`, `da = dz @ b.T` and
`db = a.T @ dz` are two more tiled matmuls.

>>> a, b = jnp.ones((100, 70)), jnp.ones((70, 30))
>>> out = matmul(a, b, bias=jnp.zeros(30), activation="relu")
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import triton as plgpu

from . import dispatch

__all__ = ["ACTIVATIONS", "matmul", "matmul_pallas", "matmul_reference"]

ACTIVATIONS = (None, "relu", "gelu", "silu", "tanh")
DTYPES = (jnp.float32, jnp.bfloat16, jnp.float16)


# ------------------------------------------------------------------------------------------ activations


def _erf(x):
    """erf for float32, a rational approximation (error < 5e-7), since Triton has no erf instruction."""
    alpha = (
        -2.72614225801306e-10,
        2.77068142495902e-08,
        -2.10102402082508e-06,
        -5.69250639462346e-05,
        -7.34990630326855e-04,
        -2.95459980854025e-03,
        -1.60960333262415e-02,
    )
    beta = (
        -1.45660718464996e-05,
        -2.13374055278905e-04,
        -1.68282697438203e-03,
        -7.37332916720468e-03,
        -1.42647390514189e-02,
    )
    x = jnp.clip(x, -4.0, 4.0)
    x2 = x * x
    p, q = jnp.full_like(x, alpha[0]), jnp.full_like(x, beta[0])
    for c in alpha[1:]:
        p = p * x2 + c
    for c in beta[1:]:
        q = q * x2 + c
    return x * p / q


def _activate(z, activation):
    """The activation as used inside the kernel (erf-based gelu written out, see `_erf`)."""
    if activation == "relu":
        return jnp.maximum(z, 0.0)
    if activation == "gelu":  # the exact gelu, as workbench.activations.gelu and keras.activations.gelu
        return 0.5 * z * (1.0 + _erf(z * 0.7071067811865476))
    if activation == "silu":
        return z / (1.0 + jnp.exp(-z))
    if activation == "tanh":
        return jnp.tanh(z)
    return z


_REFERENCE_ACTIVATIONS = {
    None: lambda z: z,
    "relu": jax.nn.relu,
    "gelu": functools.partial(jax.nn.gelu, approximate=False),
    "silu": jax.nn.silu,
    "tanh": jnp.tanh,
}


# -------------------------------------------------------------------------------------------- the ops


def matmul_reference(a, b, bias=None, *, activation: str | None = None) -> jax.Array:
    """`activation(a @ b + bias)`, accumulated and finished in float32, cast to the inputs' dtype."""
    z = jnp.dot(a, b, preferred_element_type=jnp.float32)
    if bias is not None:
        z = z + bias.astype(jnp.float32)
    return _REFERENCE_ACTIVATIONS[activation](z).astype(jnp.result_type(a.dtype, b.dtype))


def matmul(a, b, *, bias=None, activation: str | None = None, implementation: str = "auto") -> jax.Array:
    """`activation(a @ b + bias)` for `a` `[M, K]`, `b` `[K, N]` and an optional `bias` `[N]`.

    `activation` is one of None, "relu", "gelu" (exact, erf-based), "silu",
    "tanh". The product is accumulated in float32 and the result has the
    dtype of `a` and `b`. Differentiable in a, b and bias.

    >>> matmul(jnp.ones((2, 3)), jnp.ones((3, 4)), activation="relu").shape
    (2, 4)
    """
    _check(a, b, bias, activation)
    return dispatch.call("matmul", implementation, a, b, bias, activation=activation)


def _check(a, b, bias, activation) -> None:
    shapes = f"a {tuple(a.shape)}, b {tuple(b.shape)}" + (
        f", bias {tuple(bias.shape)}" if bias is not None else ""
    )
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul: `a` must be [M, K] and `b` [K, N] with the same K; got {shapes}.")
    if bias is not None and tuple(bias.shape) != (b.shape[1],):
        raise ValueError(
            f"matmul: `bias` must have shape [N] = ({b.shape[1]},) (b's last axis); got {shapes}."
        )
    if activation not in ACTIVATIONS:
        raise ValueError(f"matmul: `activation` is one of {ACTIVATIONS}; got {activation!r}.")


def supports(a, b, bias=None, **_) -> str | None:
    """None when the Pallas kernel can take these arrays, else the reason."""
    if a.dtype != b.dtype:
        return f"a ({a.dtype}) and b ({b.dtype}) have different dtypes"
    if a.dtype not in DTYPES:
        return f"dtype {a.dtype} is not float32, bfloat16 or float16"
    if a.size == 0 or b.size == 0:
        return "empty input"
    return None


# ------------------------------------------------------------------------------------------ the kernel


class Blocks(NamedTuple):
    """Tile sizes: powers of two, at least 16 (Triton's smallest matrix-multiply tile)."""

    m: int = 64
    n: int = 64
    k: int = 32


def default_blocks(m: int, n: int, k: int) -> Blocks:
    """The default tiles, shrunk (to powers of two, at least 16) for small matrices."""
    fit = lambda size, cap: min(cap, max(16, pl.next_power_of_2(size)))
    return Blocks(fit(m, 64), fit(n, 64), fit(k, 32))


def _matmul_kernel(a_ref, b_ref, *refs, m, n, k, blocks: Blocks, activation, has_bias):
    bias_ref = refs[0] if has_bias else None
    out_ref, *preactivation_ref = refs[1:] if has_bias else refs  # the pre-activation only for the gradient
    # Which output rows and columns this program computes, and which of them exist.
    rows = pl.program_id(0) * blocks.m + jnp.arange(blocks.m)
    cols = pl.program_id(1) * blocks.n + jnp.arange(blocks.n)
    row_ok, col_ok = rows < m, cols < n

    def k_step(step, acc):
        start = step * blocks.k
        k_ok = start + jnp.arange(blocks.k) < k
        a = plgpu.load(a_ref.at[:, pl.ds(start, blocks.k)], mask=row_ok[:, None] & k_ok[None, :], other=0.0)
        b = plgpu.load(b_ref.at[pl.ds(start, blocks.k), :], mask=k_ok[:, None] & col_ok[None, :], other=0.0)
        return acc + jnp.dot(a, b, preferred_element_type=jnp.float32)

    acc = jnp.zeros((blocks.m, blocks.n), jnp.float32)
    acc = lax.fori_loop(0, pl.cdiv(k, blocks.k), k_step, acc)

    # The epilogue, on the float32 tile still in registers.
    if bias_ref is not None:
        acc = acc + plgpu.load(bias_ref, mask=col_ok, other=0.0).astype(jnp.float32)[None, :]
    out_mask = row_ok[:, None] & col_ok[None, :]
    if preactivation_ref:
        plgpu.store(preactivation_ref[0], acc.astype(preactivation_ref[0].dtype), mask=out_mask)
    plgpu.store(out_ref, _activate(acc, activation).astype(out_ref.dtype), mask=out_mask)


def _pallas_call(a, b, bias, activation, blocks: Blocks, interpret: bool, save_preactivation: bool = False):
    (m, k), n = a.shape, b.shape[1]
    k_padded = pl.cdiv(k, blocks.k) * blocks.k  # each program sees whole K-long panels, split in the loop
    kernel = functools.partial(
        _matmul_kernel,
        m=m,
        n=n,
        k=k,
        blocks=blocks,
        activation=activation,
        has_bias=bias is not None,
    )
    in_specs = [
        pl.BlockSpec((blocks.m, k_padded), lambda i, j: (i, 0)),  # rows i*block_m... of a, all of K
        pl.BlockSpec((k_padded, blocks.n), lambda i, j: (0, j)),  # all of K, columns j*block_n... of b
        *([pl.BlockSpec((blocks.n,), lambda i, j: (j,))] if bias is not None else []),
    ]
    out = jax.ShapeDtypeStruct((m, n), jnp.result_type(a.dtype, b.dtype))
    tile = pl.BlockSpec((blocks.m, blocks.n), lambda i, j: (i, j))
    return pl.pallas_call(
        kernel,
        out_shape=[out, out] if save_preactivation else [out],
        grid=(pl.cdiv(m, blocks.m), pl.cdiv(n, blocks.n)),
        in_specs=in_specs,
        out_specs=[tile, tile] if save_preactivation else [tile],
        compiler_params=plgpu.CompilerParams(num_warps=4, num_stages=3),
        interpret=interpret,
        name=f"matmul_{activation or 'linear'}",
    )(a, b, *([bias] if bias is not None else []))


def matmul_pallas(
    a, b, bias=None, *, activation: str | None = None, interpret: bool = False, blocks: Blocks | None = None
) -> jax.Array:
    """The Pallas kernel (Triton lowering; `interpret=True` runs it on CPU), differentiable.

    `blocks` is a `Blocks` or a dict of its fields (what autotuning stores); by default `default_blocks`.
    """
    if isinstance(blocks, dict):
        blocks = Blocks(**blocks)
    blocks = blocks or default_blocks(a.shape[0], b.shape[1], a.shape[1])
    return _matmul(a, b, bias, activation, blocks, bool(interpret))


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _matmul(a, b, bias, activation, blocks, interpret):
    return _pallas_call(a, b, bias, activation, blocks, interpret)[0]


def _matmul_fwd(a, b, bias, activation, blocks, interpret):
    if activation is None:  # no activation: the gradient does not need z
        return _matmul(a, b, bias, activation, blocks, interpret), (a, b, bias, None)
    out, z = _pallas_call(a, b, bias, activation, blocks, interpret, save_preactivation=True)
    return out, (a, b, bias, z)


def _matmul_bwd(activation, blocks, interpret, residuals, dout):
    a, b, bias, z = residuals
    dz = dout.astype(jnp.float32)
    if activation is not None:
        _, activation_vjp = jax.vjp(_REFERENCE_ACTIVATIONS[activation], z.astype(jnp.float32))
        (dz,) = activation_vjp(dz)
    dz = dz.astype(dout.dtype)
    (m, k), n = a.shape, b.shape[1]
    da = _pallas_call(dz, b.T, None, None, default_blocks(m, k, n), interpret)[0]
    db = _pallas_call(a.T, dz, None, None, default_blocks(k, n, m), interpret)[0]
    dbias = None if bias is None else jnp.sum(dz, axis=0, dtype=jnp.float32).astype(bias.dtype)
    return da.astype(a.dtype), db.astype(b.dtype), dbias


_matmul.defvjp(_matmul_fwd, _matmul_bwd)


def _pallas_entry(a, b, bias=None, *, activation=None, interpret=False, blocks=None):
    return matmul_pallas(a, b, bias, activation=activation, interpret=interpret, blocks=blocks)


def _tunings(a, b, bias=None, **_) -> list[dict]:
    """Tiles autotuning times besides `default_blocks`: larger ones for large outputs, a deeper K step."""
    m, n = a.shape[0], b.shape[1]
    sizes = [(128, 128, 32), (128, 64, 32), (64, 128, 32), (64, 64, 64), (128, 128, 64)]
    # A tile far larger than the output only computes padding.
    return [{"blocks": {"m": bm, "n": bn, "k": bk}} for bm, bn, bk in sizes if bm <= 2 * m and bn <= 2 * n]


dispatch.register("matmul", "xla", matmul_reference)
dispatch.register("matmul", "pallas", _pallas_entry, platforms=("cuda",), supports=supports, tunings=_tunings)
