"""The compiled functions of training: K train steps in one `jax.jit(lax.scan(...))`.

The train state is one pytree (DESIGN.md):
`{"trainable", "non_trainable", "opt_state", "metrics", "rng", "step"}`. It is
donated to the train function, which returns the next one; metrics stay on
device until a callback asks for them.
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

from workbench.core import context


def init_state(model, spec, tx, opt_state=None, rng=None, seed: int = 0) -> dict:
    """A fresh train state for the model's current variables; its dropout key is `rng`, else made from `seed`."""
    variables = model.get_variables()

    def fresh(trainable, seed):  # one compiled program instead of one per optimizer and metric leaf
        return (tx.init(trainable) if opt_state is None else None), spec.init_metric_states(), \
            jnp.zeros((), jnp.int32), jax.random.key(seed)

    new_opt_state, metrics, step, key = jax.jit(fresh)(variables["trainable"], np.uint32(seed))
    return {
        "trainable": variables["trainable"],
        "non_trainable": variables["non_trainable"],
        "opt_state": new_opt_state if opt_state is None else opt_state,
        "metrics": metrics,
        "rng": key if rng is None else rng,
        "step": step,
    }


def _constraints(model) -> dict:
    out = {}
    trainable = {id(w) for w in model.trainable_weights}
    for path, var in model._variable_paths():
        c = getattr(var, "constraint", None)
        if c is not None and id(var) in trainable:
            out[path] = c
    return out


def _valid_count(valid) -> jax.Array:
    # Groups are filled from the front: the valid steps are a prefix.
    return jnp.sum(valid.astype(jnp.int32))


def _take(batches, i):
    return jax.tree_util.tree_map(lambda a: jax.lax.dynamic_index_in_dim(a, i, keepdims=False), batches)


def forward_loss(model, spec, variables, batch, *, training: bool, rng=None):
    """One batch's forward pass and loss: (loss, per-output losses, y_pred, new non-trainable variables).

    The loss adds the model's `add_loss` values and weight regularisers, as Keras adds `model.losses`.
    With a fused loss (`spec.fuses`) the dense calls are captured, so the loss of an output a Dense
    produced is computed from its features and the logits are left to whatever else reads them.
    """
    with context.capture_heads() if spec.fuses else contextlib.nullcontext() as heads:
        y_pred, new_nt, extra = model.stateless_call(variables, batch["x"], training=training, rng=rng,
                                                     return_losses=True)
    loss, parts = spec.total_loss(batch["y"], y_pred, batch.get("sample_weight"), batch["mask"], heads=heads)
    for value in extra:
        loss = loss + jnp.asarray(value, jnp.float32)
    return loss, parts, y_pred, new_nt


def make_train_function(model, spec, tx, loop: bool = True, state_shardings=None):
    """jit(loop over K steps)(state, batches, valid) -> (state, losses); padded steps (valid False) are not run.

    The loop runs as many steps as `valid` marks (a dynamic trip count), so the
    padding of an epoch's last group costs nothing. With `loop=False` the
    function takes one step (K must be 1) without a loop. The two forms can
    differ in the last bits of their results (XLA compiles a loop body on its
    own), so a fit uses one form throughout, whatever K it picks: the looped
    form gives the same bits for every K.

    Step `i`'s dropout key is `fold_in(state["rng"], i)`: a function of the
    step alone, and no work at all for a model that draws no random numbers.

    `state_shardings` (a distribution's layout of the state) pins the new state to the layout the
    old one had, so the next call takes it as it is, without a new compilation.
    """
    constraints = _constraints(model)

    def train_step(state, batch):
        step_rng = jax.random.fold_in(state["rng"], state["step"])

        def loss_fn(trainable):
            variables = {"trainable": trainable, "non_trainable": state["non_trainable"]}
            loss, parts, y_pred, new_nt = forward_loss(model, spec, variables, batch, training=True, rng=step_rng)
            return loss, (y_pred, new_nt, parts)

        (loss, (y_pred, new_nt, parts)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["trainable"])
        updates, opt_state = tx.update(grads, state["opt_state"], state["trainable"])
        trainable = optax.apply_updates(state["trainable"], updates)
        for path, constraint in constraints.items():
            trainable[path] = constraint(trainable[path])
        metrics = spec.update_metrics(state["metrics"], loss, parts, batch["y"], y_pred,
                                      batch["sample_weight"], batch["mask"])
        return {
            "trainable": trainable,
            "non_trainable": new_nt,
            "opt_state": opt_state,
            "metrics": metrics,
            "rng": state["rng"],
            "step": state["step"] + 1,
        }, loss

    def train_multi(state, batches, valid):
        if not loop:
            if valid.shape[0] != 1:
                raise ValueError(f"A train function without a loop takes one step per call, got {valid.shape[0]}.")
            new, loss = train_step(state, jax.tree_util.tree_map(lambda a: a[0], batches))
            return new, loss[None]

        def body(i, carry):
            state, losses = carry
            new, loss = train_step(state, _take(batches, i))
            return new, losses.at[i].set(loss)

        losses = jnp.zeros(valid.shape, jnp.float32)
        return jax.lax.fori_loop(0, _valid_count(valid), body, (state, losses))

    if state_shardings is None:
        return jax.jit(train_multi, donate_argnums=0)
    mesh = jax.tree_util.tree_leaves(state_shardings)[0].mesh
    losses = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    return jax.jit(train_multi, donate_argnums=0, out_shardings=(state_shardings, losses))


def make_test_function(model, spec, loop: bool = True):
    """jit(loop over K steps)(variables, metric_states, batches, valid) -> metric_states; padded steps are not
    run (one step without a loop when `loop` is False)."""

    def test_step(metrics, batch, variables):
        loss, parts, y_pred, _ = forward_loss(model, spec, variables, batch, training=False)
        return spec.update_metrics(metrics, loss, parts, batch["y"], y_pred, batch["sample_weight"], batch["mask"])

    def test_multi(variables, metrics, batches, valid):
        if not loop:
            return test_step(metrics, _take(batches, 0), variables)
        return jax.lax.fori_loop(0, _valid_count(valid), lambda i, m: test_step(m, _take(batches, i), variables),
                                 metrics)

    return jax.jit(test_multi, donate_argnums=1)


def uses_loops_well(forward_jaxpr) -> bool:
    """Whether the steps of a model should run K to a loop (True) or one per call (False).

    XLA:CPU runs convolutions several times slower inside a loop body than in
    straight-line code (measured: 0.88 s vs 0.15 s per step for a small convnet),
    so on CPU a model whose forward pass (`forward_jaxpr`, a ClosedJaxpr)
    convolves takes one step per call. The choice depends only on the model and
    the backend, never on timings, so two runs of the same fit take bitwise the
    same steps.
    """
    if jax.default_backend() != "cpu":
        return True
    return not _has_primitive(forward_jaxpr.jaxpr, "conv_general_dilated")


def _has_primitive(jaxpr, name: str) -> bool:
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == name:
            return True
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else (param,):
                inner = getattr(sub, "jaxpr", sub)  # a ClosedJaxpr holds a Jaxpr
                if hasattr(inner, "eqns") and _has_primitive(inner, name):
                    return True
    return False


def make_predict_function(model):
    def predict_step(variables, x):
        y_pred, _ = model.stateless_call(variables, x, training=False)
        return y_pred

    return jax.jit(predict_step)


def make_results_function(spec):
    return jax.jit(spec.results)
