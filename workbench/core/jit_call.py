"""Top-level calls of a built layer as one cached `jax.jit` of its pure form."""

from __future__ import annotations

import warnings

import jax
import numpy as np

from workbench.core import context, rng
from workbench.core.variable import stateless_scope

# Errors that mean a call needs concrete Python values: such layers run eagerly.
_TRACE_ERRORS = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerBoolConversionError,
    jax.errors.TracerIntegerConversionError,
    jax.errors.TracerArrayConversionError,
)


def _kernel_setting() -> str:
    from workbench.kernels import dispatch

    return dispatch.default_implementation()


def _is_array(x) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, np.generic))



class JitCall:
    """Mixed into Layer: the cached compiled path of `__call__`."""

    def _jitted_call(self, args, kwargs):
        variables = self.weights
        training = kwargs.get("training")
        leaves, treedef = jax.tree_util.tree_flatten((args, kwargs))
        dynamic_pos = tuple(i for i, x in enumerate(leaves) if _is_array(x))
        static = tuple((i, x) for i, x in enumerate(leaves) if i not in set(dynamic_pos))
        try:
            # The kernel setting is read while tracing (layers pick kernels or their own arithmetic by it).
            cache_key = (treedef, dynamic_pos, static, len(variables), bool(training), _kernel_setting())
            hash(cache_key)
        except TypeError:
            return self._eager_fallback(args, kwargs)
        fn = self._jit_cache.get(cache_key)
        if fn is None:
            fn = self._jit_cache[cache_key] = self._make_jitted(variables, treedef, dynamic_pos, static)
        key = rng.next_key() if training else None
        try:
            outputs, updates, losses = fn([v._value for v in variables], key, [leaves[i] for i in dynamic_pos])
        except _TRACE_ERRORS:
            self._jit_ok = False
            warnings.warn(
                f"'{self.name}' uses Python control flow on array values, so its calls run eagerly "
                "(op by op) instead of as one compiled function.",
                stacklevel=3,
            )
            return self._eager_fallback(args, kwargs)
        for i, value in updates.items():
            variables[i]._value = value
        self._losses = list(losses)
        return outputs

    def _eager_fallback(self, args, kwargs):
        with context.call_context(kwargs.get("training")):
            return self._run(args, kwargs)

    def _make_jitted(self, variables, treedef, dynamic_pos, static):
        n = treedef.num_leaves

        def pure(values, key, dynamic):
            leaves = [None] * n
            for i, x in zip(dynamic_pos, dynamic):
                leaves[i] = x
            for i, x in static:
                leaves[i] = x
            args, kwargs = jax.tree_util.tree_unflatten(treedef, leaves)
            mapping = {id(v): val for v, val in zip(variables, values)}
            with stateless_scope(mapping) as scope, rng.key_scope(key), context.call_context(
                kwargs.get("training")
            ) as ctx:
                outputs = self._run(args, kwargs)
            index = {id(v): i for i, v in enumerate(variables)}
            return outputs, {index[k]: val for k, val in scope.updates.items() if k in index}, list(ctx.losses)

        return jax.jit(pure)

