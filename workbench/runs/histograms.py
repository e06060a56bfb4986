"""Weight and gradient histograms, computed on the device so that asking for one never waits for it.

`weight_summaries(variables)` and `GradientSummaries(model)(variables, batch)`
return device arrays at once; `to_records` turns them into histogram records
once they are ready. Buckets are `BINS` equal widths between the finite
minimum and maximum of each array; NaN and infinite entries are not counted.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from workbench.training.steps import forward_loss

BINS = 30


def _summary(x) -> dict:
    x = jnp.asarray(x).astype(jnp.float32).reshape(-1)
    finite = jnp.isfinite(x)
    any_finite = jnp.any(finite)
    lo = jnp.where(any_finite, jnp.min(jnp.where(finite, x, jnp.inf), initial=jnp.inf), 0.0)
    hi = jnp.where(any_finite, jnp.max(jnp.where(finite, x, -jnp.inf), initial=-jnp.inf), 0.0)
    # A constant array gets one unit-wide range around its value, as numpy.histogram does.
    flat = hi <= lo
    left, right = jnp.where(flat, lo - 0.5, lo), jnp.where(flat, hi + 0.5, hi)
    index = jnp.clip(jnp.floor((x - left) / (right - left) * BINS), 0, BINS - 1).astype(jnp.int32)
    index = jnp.where(finite, index, 0)
    counts = jnp.zeros(BINS, jnp.int32).at[index].add(finite.astype(jnp.int32))
    kept = jnp.where(finite, x, 0.0)
    return {
        "edges": left + (right - left) * jnp.arange(BINS + 1, dtype=jnp.float32) / BINS,
        "counts": counts,
        "min": lo,
        "max": hi,
        "num": jnp.sum(finite.astype(jnp.int32)),
        "sum": jnp.sum(kept),
        "sum_squares": jnp.sum(kept * kept),
    }


def _numeric(tree: dict) -> dict:
    return {
        k: v
        for k, v in tree.items()
        if jnp.issubdtype(jnp.result_type(v), jnp.number) or jnp.result_type(v) == jnp.bool_
    }


@jax.jit
def _summaries(tree: dict) -> dict:
    return {k: _summary(v) for k, v in tree.items()}


def weight_summaries(variables: dict) -> dict:
    """Histogram summaries (device arrays) of every variable in a `model.get_variables()` pytree."""
    flat = {**variables.get("trainable", {}), **variables.get("non_trainable", {})}
    return _summaries(_numeric(flat))


class GradientSummaries:
    """Histograms of the gradients of the compiled loss on one batch, at the given variables.

    The loss is computed as in training (dropout on, with a fixed key), on every
    sample of the batch; add_loss() values and weight regularisers count too.
    """

    def __init__(self, model):
        self.model = model
        self._fn = jax.jit(functools.partial(self._grads, model, model._compile_spec))

    @staticmethod
    def _grads(model, spec, variables, batch, index):
        if index is not None:  # one step out of a stacked group of batches
            batch = jax.tree_util.tree_map(
                lambda a: jax.lax.dynamic_index_in_dim(a, index, keepdims=False), batch
            )
        mask = batch.get("mask")
        if mask is None:
            mask = jnp.ones(jax.tree_util.tree_leaves(batch["y"])[0].shape[:1], jnp.float32)

        def loss_fn(trainable):
            return forward_loss(
                model, spec, {"trainable": trainable, "non_trainable": variables["non_trainable"]},
                {**batch, "mask": mask}, training=True, rng=jax.random.key(0),
            )[0]

        grads = jax.grad(loss_fn)(variables["trainable"])
        return {k: _summary(v) for k, v in grads.items()}

    def __call__(self, variables: dict, batch: dict, index=None) -> dict:
        """Summaries (device arrays) per trainable variable; `index` picks one batch of a stacked group."""
        return self._fn(variables, batch, None if index is None else jnp.int32(index))


def _short(value: float) -> float:
    return float(f"{value:.6g}")


def to_records(summaries: dict, source: str, step: int, epoch: int, wall: float) -> list[dict]:
    """Histogram records (see `workbench.runs`) from summaries copied to the host; arrays with no finite
    entry are left out."""
    records = []
    for name, s in summaries.items():
        if int(s["num"]) == 0:
            continue
        records.append(
            {
                "kind": "histogram",
                "step": int(step),
                "epoch": int(epoch),
                "wall": round(wall, 3),
                "source": source,
                "name": name,
                "edges": [_short(v) for v in np.asarray(s["edges"]).tolist()],
                "counts": np.asarray(s["counts"]).astype(int).tolist(),
                "min": _short(float(s["min"])),
                "max": _short(float(s["max"])),
                "num": int(s["num"]),
                "sum": _short(float(s["sum"])),
                "sum_squares": _short(float(s["sum_squares"])),
            }
        )
    return records
