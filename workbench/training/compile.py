"""What `model.compile(...)` resolves: the optimizer, the per-output losses and metrics.

`CompileSpec` turns Keras' flexible arguments (names, objects, lists and dicts
per output, `loss_weights`, `weighted_metrics`) into pure functions the train
step calls: `total_loss(...)` and `update_metrics(...)`.
"""

from __future__ import annotations

import jax.numpy as jnp

from workbench import losses as losses_mod
from workbench import metrics as metrics_mod
from workbench import optimizers as optimizers_mod


def output_names(model) -> list[str]:
    """Names of the model's outputs: dict keys, or the producing layers' names."""
    outputs = getattr(model, "_outputs_struct", None)
    if outputs is None and getattr(model, "_functional", None) is not None:
        outputs = model._functional._outputs_struct
    if isinstance(outputs, dict):
        return list(outputs)
    if isinstance(outputs, (list, tuple)):
        return [t._history[0].name for t in outputs]
    if outputs is not None:
        return [outputs._history[0].name]
    return ["output"]


def _per_output(value, names: list[str], what: str) -> list:
    """Spread a compile argument over the outputs: one value for all, a list in order, or a dict by name."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile({what}=...) names outputs {unknown}, but the model's outputs are {names}.")
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)) and len(names) > 1 and not (what == "metrics" and _is_flat_metric_list(value)):
        if len(value) != len(names):
            raise ValueError(
                f"compile({what}=...) got a list of {len(value)} entries for a model with {len(names)} outputs {names}."
            )
        return list(value)
    return [value] * len(names)


def _is_flat_metric_list(value) -> bool:
    return all(isinstance(v, str) or callable(v) for v in value)


class CompileSpec:
    """The resolved `compile` configuration of a model."""

    def __init__(self, model, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                 weighted_metrics=None, run_eagerly=False, steps_per_execution="auto", jit_compile=True):
        self.names = output_names(model)
        self.optimizer = optimizers_mod.get(optimizer)
        if self.optimizer is None:
            raise ValueError("compile() needs an optimizer: a name such as 'adam', an optimizer object, "
                             "or an optax GradientTransformation.")
        self.loss_config = loss
        self.losses = [_resolve_loss(v) for v in _per_output(loss, self.names, "loss")]
        self.fuses = _may_fuse(model, self.losses)
        if loss_weights is None:
            self.loss_weights = [1.0] * len(self.names)
        else:
            self.loss_weights = [1.0 if w is None else float(w)
                                 for w in _per_output(loss_weights, self.names, "loss_weights")]
        self.metric_config = metrics
        self.weighted_metric_config = weighted_metrics
        self._metric_specs = [
            (_as_list(m), _as_list(w))
            for m, w in zip(_per_output(metrics, self.names, "metrics"),
                            _per_output(weighted_metrics, self.names, "weighted_metrics"))
        ]
        for plain, weighted in self._metric_specs:  # unknown names fail here, not at the first batch
            for entry in plain + weighted:
                if isinstance(entry, str) and entry not in ("accuracy", "acc", "crossentropy", "ce"):
                    metrics_mod.get(entry)
        self.metrics: list[tuple[int, str, object, bool]] | None = None  # built on first data
        if steps_per_execution != "auto" and (not isinstance(steps_per_execution, int) or steps_per_execution < 1):
            raise ValueError(f"steps_per_execution must be 'auto' or a positive int, got {steps_per_execution!r}.")
        self.steps_per_execution = steps_per_execution
        self.jit_compile = jit_compile
        self.run_eagerly = run_eagerly

    # ------------------------------------------------------------------ metrics
    def build_metrics(self, y_true, y_pred) -> None:
        """Resolve metric names (e.g. "accuracy") once the shapes of y and the outputs are known."""
        if self.metrics is not None:
            return
        ys, ps = self.flatten(y_true), self.flatten(y_pred)
        out = []
        multi = len(self.names) > 1
        for i, (plain, weighted) in enumerate(self._metric_specs):
            for entries, is_weighted in ((plain, False), (weighted, True)):
                for entry in entries:
                    metric = _resolve_metric(entry, self.losses[i], ys[i], ps[i])
                    name = metric.name
                    if is_weighted and any(n == name for _, n, _, _ in out):
                        name = "weighted_" + name
                    out.append((i, f"{self.names[i]}_{name}" if multi else name, metric, is_weighted))
        names = [n for _, n, _, _ in out]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"compile() metrics give duplicate names {dupes}; pass metric objects with name=.")
        self.metrics = out

    def init_metric_states(self) -> dict:
        states = {"loss": {"total": jnp.zeros((), jnp.float32), "count": jnp.zeros((), jnp.float32)}}
        if len(self.names) > 1:
            for i, name in enumerate(self.names):
                if self.losses[i] is not None:
                    states[f"{name}_loss"] = {"total": jnp.zeros((), jnp.float32), "count": jnp.zeros((), jnp.float32)}
        for _, name, metric, _ in self.metrics or []:
            states[name] = metric.init()
        return states

    # ------------------------------------------------------------------ structure
    def flatten(self, tree) -> list:
        if isinstance(tree, dict):
            missing = [n for n in self.names if n not in tree]
            if missing:
                raise ValueError(f"Expected targets/outputs for {self.names}; the dict lacks {missing}.")
            return [tree[n] for n in self.names]
        if isinstance(tree, (list, tuple)):
            if len(tree) != len(self.names):
                raise ValueError(f"Expected {len(self.names)} targets/outputs {self.names}, got {len(tree)}.")
            return list(tree)
        if len(self.names) != 1:
            raise ValueError(f"The model has {len(self.names)} outputs {self.names}; pass y as a list or dict.")
        return [tree]

    # ------------------------------------------------------------------ pure parts of the step
    def total_loss(self, y_true, y_pred, sample_weight, mask, heads=None):
        """(scalar loss, per-output losses) for one batch; padded samples (mask 0) do not count.

        `heads` are the dense calls of the forward pass (`context.capture_heads`): an output that
        one of them produced, with a fused loss, gets its loss from that layer's inputs and weights.
        """
        ys, ps = self.flatten(y_true), self.flatten(y_pred)
        sws = self.flatten(sample_weight) if isinstance(sample_weight, (dict, list, tuple)) and len(self.names) > 1 \
            else [sample_weight] * len(self.names)
        keep = mask > 0  # padded samples of a last partial batch
        total, parts = jnp.zeros((), jnp.float32), []
        for name, loss, weight, y, p, sw in zip(self.names, self.losses, self.loss_weights, ys, ps, sws):
            if loss is None:
                parts.append(None)
                continue
            # The losses' mean reductions average over the kept entries only.
            head = _fused_head(loss, p, heads, name) if self.fuses else None
            if head is not None:
                value = loss.from_features(y, head.inputs, head.kernel, head.bias, sample_weight=sw, mask=keep)
            else:
                value = loss(y, p, sample_weight=sw, mask=keep)
            value = value.astype(jnp.float32)
            parts.append(value)
            total = total + weight * value
        if all(p is None for p in parts):
            raise ValueError("compile() got no loss: pass loss= (a name, a loss object or a function).")
        return total, parts

    def update_metrics(self, states, loss, parts, y_true, y_pred, sample_weight, mask):
        states = dict(states)
        n = jnp.sum(mask)
        # Keras tracks the loss as a mean over batches weighted by batch size.
        states["loss"] = _mean_update(states["loss"], loss, n)
        if len(self.names) > 1:
            for name, part in zip(self.names, parts):
                if part is not None:
                    states[f"{name}_loss"] = _mean_update(states[f"{name}_loss"], part, n)
        ys, ps = self.flatten(y_true), self.flatten(y_pred)
        for i, name, metric, weighted in self.metrics or []:
            sw = sample_weight if weighted else None
            if isinstance(sw, (dict, list, tuple)):
                sw = self.flatten(sw)[i]
            w = mask if sw is None else _broadcast_weight(sw, mask)
            states[name] = metric.update(states[name], ys[i], ps[i], sample_weight=w)
        return states

    def results(self, states) -> dict:
        out = {}
        for name, state in states.items():
            if name == "loss" or name.endswith("_loss") and "total" in state:
                out[name] = state["total"] / jnp.maximum(state["count"], 1.0)
        for _, name, metric, _ in self.metrics or []:
            out[name] = metric.compute(states[name])
        return out


def _resolve_loss(identifier):
    if identifier is None:
        return None
    loss = losses_mod.get(identifier)
    if isinstance(loss, losses_mod.Loss):
        return loss
    # Keras accepts a function of (y_true, y_pred) returning per-sample values.
    name = identifier if isinstance(identifier, str) else getattr(loss, "__name__", "loss")
    return losses_mod.LossFunctionWrapper(loss, name=name)


def _may_fuse(model, losses) -> bool:
    """Whether a loss may be computed from a dense head's features (so the steps capture the heads)."""
    from workbench.layers import FusedLMHead

    if not any(isinstance(loss, losses_mod.SparseCategoricalCrossentropy) for loss in losses):
        return False
    if any(getattr(loss, "fused", False) for loss in losses):
        return True
    return any(isinstance(layer, FusedLMHead) for layer in model._flatten_layers())


def _fused_head(loss, output, heads, name: str):
    """The dense call whose features give `loss` for `output` without its logits, or None to use the logits.

    A `FusedLMHead` output with `from_logits=True` fuses; `fused=True` fuses any final Dense, and
    refuses (with the reason) an output that no Dense produced or one whose activation does not fit.
    """
    from workbench import activations
    from workbench.layers import FusedLMHead

    if not isinstance(loss, losses_mod.SparseCategoricalCrossentropy):
        return None
    head = next((h for h in reversed(heads or []) if h.output is output), None)
    if not loss.fused:
        if head is not None and isinstance(head.layer, FusedLMHead) and loss.from_logits:
            return head
        return None
    if head is None:
        seen = ", ".join(sorted({f"'{h.layer.name}'" for h in heads or []})) or "none"
        raise ValueError(
            f"SparseCategoricalCrossentropy(fused=True) on output '{name}' needs that output to be a Dense or "
            f"FusedLMHead layer's own output (nothing applied after it); it is not (dense layers in the "
            f"model: {seen}). Use fused=False, or end the model in the Dense."
        )
    activation = activations.serialize(head.layer.activation)
    expected = "linear" if loss.from_logits else "softmax"
    if activation != expected:
        raise ValueError(
            f"SparseCategoricalCrossentropy(fused=True, from_logits={loss.from_logits}) on output '{name}' needs "
            f"its Dense '{head.layer.name}' to have activation '{expected}'; it has '{activation}'."
        )
    return head


def _mean_update(state, value, n):
    return {"total": state["total"] + value * n, "count": state["count"] + n}


def _broadcast_weight(sw, mask):
    sw = jnp.asarray(sw, jnp.float32)
    m = mask.reshape(mask.shape + (1,) * (sw.ndim - 1))
    return sw * m


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _resolve_metric(entry, loss, y_true, y_pred):
    """A metric object for one compile entry, built for this output's shapes."""
    true_shape, pred_shape = tuple(jnp.shape(y_true)), tuple(jnp.shape(y_pred))
    if isinstance(entry, str) and entry in ("crossentropy", "ce"):
        name = getattr(loss, "name", "")
        kind = {"binary_crossentropy": "binary_crossentropy",
                "sparse_categorical_crossentropy": "sparse_categorical_crossentropy"}.get(name, "categorical_crossentropy")
        metric = metrics_mod.resolve_accuracy(kind, loss, true_shape, pred_shape)
    else:
        # Resolves "accuracy" by loss and shapes, names strings as written, wraps plain functions.
        metric = metrics_mod.resolve_accuracy(entry, loss, true_shape, pred_shape)
    if not getattr(metric, "built", True):
        metric.build(true_shape, pred_shape)
    return metric
