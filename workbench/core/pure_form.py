"""The pure form of a layer: its weights as a pytree, and a call that is a function of them.

`get_variables()` returns `{"trainable": {path: array}, "non_trainable": {...}}`
keyed by model-relative paths; `stateless_call(variables, ...)` runs the layer
reading weights from that pytree only and returns the updated non-trainable
state instead of assigning it, so `jax.jit`, `jax.grad` and `jax.vmap` apply.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from workbench.core import context
from workbench.core.rng import key_scope
from workbench.core.variable import Variable, stateless_scope


class PureForm:
    """Mixed into Layer: the pure-function view of a layer's weights and call."""

    def _variable_paths(self) -> list[tuple[str, Variable]]:
        """(path, variable) for every weight, in `weights` order, paths unique."""
        found: dict[int, str] = {}

        def walk(layer, prefix):
            used = set()
            for w in layer._trainable_variables + layer._non_trainable_variables:
                if id(w) in found:
                    continue
                key, i = w.name, 1
                while key in used:
                    key, i = f"{w.name}_{i}", i + 1
                used.add(key)
                found[id(w)] = prefix + key
            for child_key, child in layer._tracked_children():
                walk(child, f"{prefix}{child_key}/")

        walk(self, "")
        return [(found[id(w)], w) for w in self.weights]

    def get_variables(self) -> dict:
        """The weights as a plain pytree: {"trainable": {path: array}, "non_trainable": {...}}.

        The arrays are the model's own, not copies. `fit` donates the weights' buffers to its compiled
        step (as Keras does on JAX), so an array taken before a `fit` is deleted by it; keep a copy,
        `jax.tree_util.tree_map(jnp.copy, model.get_variables())`, to compare weights across training.
        """
        trainable = {id(w) for w in self.trainable_weights}
        out = {"trainable": {}, "non_trainable": {}}
        for path, var in self._variable_paths():
            out["trainable" if id(var) in trainable else "non_trainable"][path] = var._value
        return out

    def set_variables(self, variables: dict) -> None:
        """Write a pytree shaped like `get_variables()` back into the weights."""
        flat = _merge_sections(variables)
        paths = self._variable_paths()
        missing = [p for p, _ in paths if p not in flat]
        if missing:
            raise KeyError(f"set_variables: no value for {missing} in the given variables.")
        for path, var in paths:
            value = flat[path]
            if tuple(np.shape(value)) != var.shape:
                raise ValueError(
                    f"set_variables: '{path}' has shape {var.shape}, got {tuple(np.shape(value))}."
                )
        for path, var in paths:
            var._value = jnp.asarray(flat[path], dtype=var.dtype)

    def stateless_call(self, variables: dict, *args, training: bool = False, rng=None,
                       return_losses: bool = False, **kwargs):
        """Run the layer as a pure function of `variables` (a `get_variables()` pytree).

        Returns `(outputs, new_non_trainable)`, or `(outputs, new_non_trainable, losses)`
        with `return_losses=True`. Nothing in the layer is modified, so this can be
        wrapped in `jax.jit`, `jax.grad` or `jax.vmap`.
        """
        if not self.built:
            raise ValueError(
                f"'{self.name}' must be built before stateless_call: call it once on data "
                "or call build(input_shape)."
            )
        flat = _merge_sections(variables)
        mapping = {}
        for path, var in self._variable_paths():
            if path not in flat:
                raise KeyError(
                    f"stateless_call: variables has no entry '{path}'. Pass the pytree "
                    "returned by model.get_variables()."
                )
            mapping[id(var)] = flat[path]
        non_trainable = dict(variables.get("non_trainable", {}))
        with stateless_scope(mapping) as scope, key_scope(rng), context.call_context(training) as ctx:
            outputs = self._run(args, dict(kwargs, training=training))
            losses = list(ctx.losses)
            for layer in self._flatten_layers():
                for w in layer._trainable_variables + layer._non_trainable_variables:
                    reg = getattr(w, "regularizer", None)
                    if reg is not None:
                        losses.append(reg(w.value))
            paths = {id(v): p for p, v in self._variable_paths()}
            for key, value in scope.updates.items():
                if paths.get(key) in non_trainable:
                    non_trainable[paths[key]] = value
        if return_losses:
            return outputs, non_trainable, losses
        return outputs, non_trainable



def _merge_sections(variables) -> dict:
    if not isinstance(variables, dict) or not set(variables) <= {"trainable", "non_trainable"}:
        raise TypeError(
            "Expected a variables pytree {'trainable': {...}, 'non_trainable': {...}} as returned "
            f"by get_variables(), got {type(variables).__name__} with keys "
            f"{sorted(variables) if isinstance(variables, dict) else '-'}."
        )
    return {**variables.get("trainable", {}), **variables.get("non_trainable", {})}

