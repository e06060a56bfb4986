"""Layer and RMS normalisation over the last axis as Pallas kernels (Triton lowering, GPU).

The forward kernel normalises `row_block` rows per program, each whole row in
one block, and saves every row's mean (layer norm only) and reciprocal
standard deviation `rstd` in float32. The backward kernel recomputes the
normalised rows from those statistics instead of saving them, writes dx, and
adds its rows' `dy * x_hat` and `dy` into one partial dscale/dbias row per
program; XLA sums those few partial rows afterwards, so no atomics are needed.

Triton wants every block to have a power-of-two size, so rows are padded up
to `feature_block = next_power_of_2(features)` and the row count to whole
row blocks (with zeros, before the call: every block lies inside its array,
which interpret mode in newer JAX requires), and the padding is masked out
of every statistic, load and store.

The arithmetic follows `norms.layer_norm_reference` / `rms_norm_reference`
step by step (same order of operations), so the kernels agree with the
layers to float32 rounding.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import triton as plgpu

MAX_FEATURES = 16384  # a whole row lives in registers; wider rows take the XLA reference
DTYPES = (jnp.float32, jnp.bfloat16, jnp.float16)
_ELEMENTS_PER_PROGRAM = 4096  # row_block * feature_block: 16 KiB of float32 per operand
_MAX_BACKWARD_PROGRAMS = 256  # partial dscale/dbias rows that XLA sums afterwards


def supports(x, scale, bias=None, **_) -> str | None:
    """None when these kernels can normalise `x`, else the reason they cannot."""
    if x.dtype not in DTYPES:
        return f"dtype {x.dtype} is not float32, bfloat16 or float16"
    if x.shape[-1] > MAX_FEATURES:
        return f"{x.shape[-1]} features do not fit one block (at most {MAX_FEATURES})"
    if x.size == 0:
        return "empty input"
    for name, v in (("scale", scale), ("bias", bias)):
        if v is not None and not jnp.issubdtype(v.dtype, jnp.floating):
            return f"{name} dtype {v.dtype} is not floating"
    return None


def supports_rms_norm(x, scale, **kwargs) -> str | None:
    return supports(x, scale, None)


def default_row_block(rows: int, features: int) -> int:
    return max(1, min(_ELEMENTS_PER_PROGRAM // pl.next_power_of_2(features), pl.next_power_of_2(rows)))


def tunings(x, *args, **kwargs) -> list[dict]:
    """What autotuning times besides the defaults: half, twice and four times the row block (within the
    rows), and the backward pass with 64 or 1024 programs."""
    features = x.shape[-1]
    rows = x.size // max(features, 1)
    default = default_row_block(rows, features)
    blocks = [b for b in (default // 2, default * 2, default * 4) if 1 <= b <= pl.next_power_of_2(rows)]
    row_blocks = pl.cdiv(rows, default)
    # The backward grid is at most one program per row block: only sizes that change it are worth timing.
    programs = [p for p in (64, 1024) if min(p, row_blocks) != min(_MAX_BACKWARD_PROGRAMS, row_blocks)]
    return [{"row_block": b} for b in blocks] + [{"row_block": default, "programs": p} for p in programs]


def layer_norm(
    x,
    scale,
    bias,
    *,
    eps: float,
    interpret: bool = False,
    row_block: int | None = None,
    programs: int | None = None,
) -> jax.Array:
    """`(x - mean) / sqrt(var + eps) * scale + bias` over the last axis; scale and bias may be None.

    `row_block` (a power of two) and `programs` (backward grid size) override
    the defaults, for tests that want many small blocks.
    """
    return _apply(x, scale, bias, True, eps, interpret, row_block, programs)


def rms_norm(
    x,
    scale,
    *,
    eps: float,
    interpret: bool = False,
    row_block: int | None = None,
    programs: int | None = None,
) -> jax.Array:
    """`x / sqrt(mean(x**2) + eps) * scale` over the last axis; scale may be None."""
    return _apply(x, scale, None, False, eps, interpret, row_block, programs)


def _apply(x, scale, bias, centered, eps, interpret, row_block, programs):
    features = x.shape[-1]
    rows = x.size // features
    feature_block = pl.next_power_of_2(features)
    if row_block is None:
        row_block = default_row_block(rows, features)
    config = _Config(centered, float(eps), bool(interpret), row_block, feature_block, programs, rows, features)
    # Every block lies inside the arrays: rows padded to whole row blocks, features to the block width.
    # (The masks still keep the padding out of every statistic.)
    padded_rows = pl.cdiv(rows, row_block) * row_block
    x2 = _pad(x.reshape(rows, features), (padded_rows, feature_block))
    scale_p = None if scale is None else _pad(scale, (feature_block,))
    bias_p = None if bias is None else _pad(bias, (feature_block,))
    y = _normalize(x2, scale_p, bias_p, config)
    return y[:rows, :features].reshape(x.shape)


def _pad(a, shape):
    if tuple(a.shape) == tuple(shape):
        return a
    return jnp.pad(a, [(0, want - have) for have, want in zip(a.shape, shape)])


class _Config(NamedTuple):
    """The static arguments of one normalisation (hashable: a custom_vjp nondiff argument)."""

    centered: bool  # layer norm (subtract the mean) or RMS norm
    eps: float
    interpret: bool
    row_block: int
    feature_block: int
    programs: int | None  # backward grid size; None for the default
    rows: int  # the real sizes; the arrays the kernels see are padded to whole blocks
    features: int


def _compiler_params(elements: int, stages: int = 1):
    warps = min(max(elements // 256, 1), 8)
    return plgpu.CompilerParams(num_warps=warps, num_stages=stages)


def _take_refs(refs, *present):
    """Split a kernel's positional refs into the optional ones that are present (None for absent)."""
    refs = list(refs)
    return [refs.pop(0) if p else None for p in present], refs


# ---------------------------------------------------------------------------------------------- forward


def _forward_kernel(*refs, config: _Config, rows: int, features: int, has_scale: bool, has_bias: bool):
    (x_ref, scale_ref, bias_ref, y_ref, mean_ref, rstd_ref), _ = _take_refs(
        refs, True, has_scale, has_bias, True, config.centered, True
    )
    row_block, feature_block = x_ref.shape
    row_ok = pl.program_id(0) * row_block + jnp.arange(row_block) < rows
    col_ok = jnp.arange(feature_block) < features
    mask = row_ok[:, None] & col_ok[None, :]

    x = plgpu.load(x_ref, mask=mask, other=0.0).astype(jnp.float32)
    if config.centered:
        mean = jnp.sum(x, axis=1) / features
        centred = jnp.where(mask, x - mean[:, None], 0.0)
        rstd = lax.rsqrt(jnp.sum(centred * centred, axis=1) / features + config.eps)
        inv = rstd[:, None]
        if scale_ref is not None:
            inv = inv * plgpu.load(scale_ref, mask=col_ok, other=0.0).astype(jnp.float32)[None, :]
        shift = -mean[:, None] * inv
        if bias_ref is not None:
            shift = shift + plgpu.load(bias_ref, mask=col_ok, other=0.0).astype(jnp.float32)[None, :]
        y = x * inv + shift
        plgpu.store(mean_ref, mean, mask=row_ok)
    else:
        rstd = lax.rsqrt(jnp.sum(x * x, axis=1) / features + config.eps)
        y = x * rstd[:, None]
        if scale_ref is not None:
            y = y * plgpu.load(scale_ref, mask=col_ok, other=0.0).astype(jnp.float32)[None, :]
    plgpu.store(y_ref, y.astype(y_ref.dtype), mask=mask)
    plgpu.store(rstd_ref, rstd, mask=row_ok)


def _forward(x, scale, bias, config: _Config):
    rows, features = config.rows, config.features
    rb, fb = config.row_block, config.feature_block
    kernel = functools.partial(
        _forward_kernel,
        config=config,
        rows=rows,
        features=features,
        has_scale=scale is not None,
        has_bias=bias is not None,
    )
    vector = pl.BlockSpec((fb,), lambda i: (0,))
    per_row = pl.BlockSpec((rb,), lambda i: (i,))
    inputs = [v for v in (x, scale, bias) if v is not None]
    in_specs = [pl.BlockSpec((rb, fb), lambda i: (i, 0))] + [vector] * (len(inputs) - 1)
    stats = jax.ShapeDtypeStruct((x.shape[0],), jnp.float32)
    out_shape = [jax.ShapeDtypeStruct(x.shape, x.dtype)] + [stats] * (2 if config.centered else 1)
    out_specs = [pl.BlockSpec((rb, fb), lambda i: (i, 0))] + [per_row] * (len(out_shape) - 1)
    y, *stats = pl.pallas_call(
        kernel,
        out_shape=out_shape,
        grid=(x.shape[0] // rb,),
        in_specs=in_specs,
        out_specs=out_specs,
        compiler_params=_compiler_params(rb * fb),
        interpret=config.interpret,
        name="layer_norm_forward" if config.centered else "rms_norm_forward",
    )(*inputs)
    mean, rstd = stats if config.centered else (None, stats[0])
    return y, mean, rstd


# --------------------------------------------------------------------------------------------- backward


def _backward_kernel(
    *refs,
    config: _Config,
    rows: int,
    features: int,
    programs: int,
    steps: int,
    has_scale: bool,
    has_bias: bool,
):
    (x_ref, dy_ref, scale_ref, mean_ref, rstd_ref, dx_ref, dscale_ref, dbias_ref), _ = _take_refs(
        refs, True, True, has_scale, config.centered, True, True, has_scale, has_bias
    )
    rb, fb = config.row_block, config.feature_block
    program = pl.program_id(0)
    col_ok = jnp.arange(fb) < features
    scale = None
    if scale_ref is not None:
        scale = plgpu.load(scale_ref, mask=col_ok, other=0.0).astype(jnp.float32)[None, :]

    def one_row_block(step, partial_sums):
        dscale_sum, dbias_sum = partial_sums
        first = (step * programs + program) * rb  # row blocks are dealt out round-robin
        row_ok = first + jnp.arange(rb) < rows
        mask = row_ok[:, None] & col_ok[None, :]
        block = (pl.ds(first, rb), pl.ds(0, fb))
        x = plgpu.load(x_ref.at[block], mask=mask, other=0.0).astype(jnp.float32)
        dy = plgpu.load(dy_ref.at[block], mask=mask, other=0.0).astype(jnp.float32)
        rstd = plgpu.load(rstd_ref.at[pl.ds(first, rb)], mask=row_ok, other=0.0)[:, None]
        if mean_ref is not None:
            mean = plgpu.load(mean_ref.at[pl.ds(first, rb)], mask=row_ok, other=0.0)[:, None]
            x_hat = jnp.where(mask, (x - mean) * rstd, 0.0)
        else:
            x_hat = x * rstd
        g = dy if scale is None else dy * scale  # the gradient with respect to x_hat
        correction = x_hat * (jnp.sum(g * x_hat, axis=1) / features)[:, None]
        if mean_ref is not None:
            correction = correction + (jnp.sum(g, axis=1) / features)[:, None]
        dx = (g - correction) * rstd
        plgpu.store(dx_ref.at[block], dx.astype(dx_ref.dtype), mask=mask)
        return dscale_sum + jnp.sum(dy * x_hat, axis=0), dbias_sum + jnp.sum(dy, axis=0)

    zeros = jnp.zeros((fb,), jnp.float32)
    dscale_sum, dbias_sum = lax.fori_loop(0, steps, one_row_block, (zeros, zeros))
    if dscale_ref is not None:
        dscale_ref[...] = dscale_sum
    if dbias_ref is not None:
        dbias_ref[...] = dbias_sum


def _backward(x, scale, bias, mean, rstd, dy, config: _Config):
    rows, features = config.rows, config.features
    rb, fb = config.row_block, config.feature_block
    row_blocks = x.shape[0] // rb
    programs = min(row_blocks, config.programs or _MAX_BACKWARD_PROGRAMS)
    steps = pl.cdiv(row_blocks, programs)
    # The round-robin's last step may reach past the last row block: pad so it stays inside the arrays.
    padded = steps * programs * rb
    given_rows = x.shape[0]
    x, dy = _pad(x, (padded, fb)), _pad(dy, (padded, fb))
    mean = None if mean is None else _pad(mean, (padded,))
    rstd = _pad(rstd, (padded,))
    kernel = functools.partial(
        _backward_kernel,
        config=config,
        rows=rows,
        features=features,
        programs=programs,
        steps=steps,
        has_scale=scale is not None,
        has_bias=bias is not None,
    )
    whole = lambda a: pl.BlockSpec(a.shape, lambda p: (0,) * a.ndim)
    inputs = [v for v in (x, dy, scale, mean, rstd) if v is not None]
    in_specs = [whole(x), whole(dy)] + ([pl.BlockSpec((fb,), lambda p: (0,))] if scale is not None else [])
    in_specs += [whole(v) for v in (mean, rstd) if v is not None]
    partial_row = jax.ShapeDtypeStruct((programs, fb), jnp.float32)
    out_shape = [jax.ShapeDtypeStruct(x.shape, x.dtype)]
    out_specs = [whole(x)]
    for v in (scale, bias):
        if v is not None:
            out_shape.append(partial_row)
            out_specs.append(pl.BlockSpec((None, fb), lambda p: (p, 0)))
    dx, *partials = pl.pallas_call(
        kernel,
        out_shape=out_shape,
        grid=(programs,),
        in_specs=in_specs,
        out_specs=out_specs,
        compiler_params=_compiler_params(rb * fb, stages=2),
        interpret=config.interpret,
        name="layer_norm_backward" if config.centered else "rms_norm_backward",
    )(*inputs)
    dx = dx[:given_rows]
    sums = iter(partials)
    dscale = None if scale is None else next(sums).sum(0).astype(scale.dtype)
    dbias = None if bias is None else next(sums).sum(0).astype(bias.dtype)
    return dx, dscale, dbias


# ----------------------------------------------------------------------------------------- custom_vjp


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _normalize(x, scale, bias, config: _Config):
    return _forward(x, scale, bias, config)[0]


def _normalize_fwd(x, scale, bias, config: _Config):
    y, mean, rstd = _forward(x, scale, bias, config)
    return y, (x, scale, bias, mean, rstd)


def _normalize_bwd(config: _Config, residuals, dy):
    x, scale, bias, mean, rstd = residuals
    return _backward(x, scale, bias, mean, rstd, dy, config)


_normalize.defvjp(_normalize_fwd, _normalize_bwd)
