"""Small models as the bridges receive them: a pure fn(weights, *inputs), its weights and its signature dict."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

import workbench as wb


@dataclasses.dataclass
class BridgeCase:
    fn: object
    weights: list
    signature: dict

    def inputs(self, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        out = {}
        for spec in self.signature["inputs"]:
            shape = (batch, *spec["shape"][1:])
            if spec["dtype"].startswith("int"):
                out[spec["name"]] = rng.integers(0, 10, shape).astype(spec["dtype"])
            else:
                out[spec["name"]] = rng.normal(size=shape).astype(spec["dtype"])
        return out

    def expected(self, inputs: dict) -> dict[str, np.ndarray]:
        args = [inputs[s["name"]] for s in self.signature["inputs"]]
        results = jax.jit(self.fn)(self.weights, *args)
        return {s["name"]: np.asarray(r) for s, r in zip(self.signature["outputs"], results)}


def as_case(model, output_names: list[str], name: str = "serving_default") -> BridgeCase:
    """The model's inference call as a pure function of a flat weights list."""
    leaves, treedef = jax.tree_util.tree_flatten(model.get_variables())

    def fn(weights, *inputs):
        variables = jax.tree_util.tree_unflatten(treedef, list(weights))
        out = model.stateless_call(variables, list(inputs) if len(inputs) > 1 else inputs[0])[0]
        return tuple(out) if isinstance(out, (list, tuple)) else (out,)

    def spec(tensor, tensor_name):
        return {"name": tensor_name, "dtype": str(tensor.dtype), "shape": ["batch", *tensor.shape[1:]]}

    signature = {
        "name": name,
        "inputs": [spec(t, t.name) for t in model.inputs],
        "outputs": [spec(t, n) for t, n in zip(model.outputs, output_names)],
    }
    return BridgeCase(fn, [np.asarray(w) for w in leaves], signature)


def mlp() -> BridgeCase:
    inp = wb.Input((8,), name="x")
    h = wb.layers.Dense(16, activation="relu")(inp)
    out = wb.layers.Dense(3, activation="softmax", name="probs")(h)
    return as_case(wb.Model(inp, out), ["probs"])


def convnet() -> BridgeCase:
    inp = wb.Input((12, 12, 3), name="image")
    h = wb.layers.Conv2D(4, 3, activation="relu")(inp)
    h = wb.layers.MaxPooling2D(2)(h)
    h = wb.layers.Conv2D(6, 3, padding="same")(h)
    h = wb.layers.GlobalAveragePooling2D()(h)
    out = wb.layers.Dense(5, name="logits")(h)
    return as_case(wb.Model(inp, out), ["logits"])


def two_in_two_out() -> BridgeCase:
    """Float features and int32 tokens in; a score and class probabilities out."""
    features = wb.Input((6,), name="features")
    tokens = wb.Input((5,), dtype="int32", name="tokens")
    embedded = wb.layers.GlobalAveragePooling1D()(wb.layers.Embedding(10, 4)(tokens))
    h = wb.layers.Dense(8, activation="tanh")(wb.layers.Concatenate()([features, embedded]))
    score = wb.layers.Dense(1, name="score")(h)
    probs = wb.layers.Dense(2, activation="softmax", name="probs")(h)
    return as_case(wb.Model([features, tokens], [score, probs]), ["score", "probs"])


def with_fixed_batch(case: BridgeCase, batch: int) -> BridgeCase:
    """The same model with the signature's "batch" dimensions fixed, as the writer passes it for batch=<int>."""

    def fix(spec):
        return dict(spec, shape=[batch if d == "batch" else d for d in spec["shape"]])

    sig = case.signature
    signature = dict(sig, inputs=[fix(s) for s in sig["inputs"]], outputs=[fix(s) for s in sig["outputs"]])
    return BridgeCase(case.fn, case.weights, signature)
