"""The four ways of training that `train_throughput.py` compares, on the same models and the same data.

Each contender imports its library in `load()`, so a fresh process can time the
import apart from building and compiling. `trainer(name)` builds a fresh,
seeded model with Adam(1e-3) and returns `train(x, y)`: one pass over (x, y) in
the model's batch size, unshuffled, returning once the final weights are on the
host (every contender pays that one device-to-host copy, so a timing never stops
before the work has).

- workbench: the public `model.compile` + `model.fit`, exactly as a user writes it.
- keras: the same calls on Keras 3 (JAX backend).
- hand: workbench's pure model (`stateless_call`) in a hand-written `jax.jit` of
  one optax step, one dispatch per step: the usual reference for trainer overhead.
- nnx: the same architectures in `flax.nnx`, trained the idiomatic NNX way
  (`nnx.Optimizer(..., wrt=nnx.Param)`, an `@nnx.jit` step, `optimizer.update(model, grads)`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import jax
import numpy as np

# name: (input shape, batch size)
MODELS = {
    "small_mlp_64_128_10_b32": ((64,), 32),
    "large_mlp_784_512_512_10_b128": ((784,), 128),
    "convnet_28x28x1_b128": ((28, 28, 1), 128),
}
LEARNING_RATE = 1e-3
NUM_CLASSES = 10

Train = Callable[[np.ndarray, np.ndarray], object]


def steps_for(name: str, steps: int) -> int:
    """A convnet step costs hundreds of MLP steps on CPU: it gets a fifth (at least 20, at most `steps`)."""
    return max(steps // 5, min(steps, 20)) if name.startswith("convnet") else steps


def make_data(name: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """`steps` batches of standard-normal inputs and integer labels; the same for every contender."""
    shape, batch = MODELS[name]
    rng = np.random.default_rng(0)
    n = batch * steps
    return rng.normal(size=(n, *shape)).astype("float32"), rng.integers(0, NUM_CLASSES, n).astype("int32")


def build_keras_shaped(lib, name: str):
    """The model as a Keras-style `Sequential`; `lib` is `workbench` or `keras`."""
    layers = lib.layers
    shape, _ = MODELS[name]
    if name.startswith("small"):
        body = [layers.Dense(128, activation="relu"), layers.Dense(NUM_CLASSES)]
    elif name.startswith("large"):
        body = [
            layers.Dense(512, activation="relu"),
            layers.Dense(512, activation="relu"),
            layers.Dense(NUM_CLASSES),
        ]
    else:
        body = [
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(NUM_CLASSES),
        ]
    return lib.Sequential([lib.Input(shape), *body])


def build_nnx(nnx, name: str, rngs):
    """The same shapes and activations in Flax NNX (Flax's own initialisers)."""
    shape, _ = MODELS[name]
    if name.startswith("small"):
        return nnx.Sequential(
            nnx.Linear(shape[0], 128, rngs=rngs), nnx.relu, nnx.Linear(128, NUM_CLASSES, rngs=rngs)
        )
    if name.startswith("large"):
        return nnx.Sequential(
            nnx.Linear(shape[0], 512, rngs=rngs),
            nnx.relu,
            nnx.Linear(512, 512, rngs=rngs),
            nnx.relu,
            nnx.Linear(512, NUM_CLASSES, rngs=rngs),
        )

    def pool(x):
        return nnx.max_pool(x, window_shape=(2, 2), strides=(2, 2))

    def flatten(x):
        return x.reshape(x.shape[0], -1)

    # 28 -> conv 26 -> pool 13 -> conv 11 -> pool 5: 5 * 5 * 64 features, as Keras' "valid" layers give.
    return nnx.Sequential(
        nnx.Conv(shape[-1], 32, (3, 3), padding="VALID", rngs=rngs),
        nnx.relu,
        pool,
        nnx.Conv(32, 64, (3, 3), padding="VALID", rngs=rngs),
        nnx.relu,
        pool,
        flatten,
        nnx.Linear(5 * 5 * 64, NUM_CLASSES, rngs=rngs),
    )


def _batches(x, y, batch: int):
    for i in range(len(x) // batch):
        yield x[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch]


class FitContender:
    """`model.compile(...)` then `model.fit(...)`, the public API, for workbench or Keras 3."""

    def __init__(self, label: str, module: str):
        self.label, self.module, self.lib = label, module, None

    def load(self) -> None:
        self.lib = importlib.import_module(self.module)

    def trainer(self, name: str) -> Train:
        lib, batch = self.lib, MODELS[name][1]
        lib.utils.set_random_seed(0)
        model = build_keras_shaped(lib, name)
        model.compile(
            optimizer=lib.optimizers.Adam(LEARNING_RATE),
            loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
        )

        def train(x, y):
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
            return model.get_weights()

        train.model = model  # for diagnostics only
        return train


class HandLoop:
    """Workbench's pure model in `jax.jit` of one optax Adam step; one dispatch per step."""

    label = "hand"

    def load(self) -> None:
        self.lib = importlib.import_module("workbench")
        self.optax = importlib.import_module("optax")

    def trainer(self, name: str) -> Train:
        wb, optax, batch = self.lib, self.optax, MODELS[name][1]
        wb.utils.set_random_seed(0)
        model = build_keras_shaped(wb, name)
        variables = model.get_variables()
        rest = variables["non_trainable"]
        tx = optax.adam(LEARNING_RATE)

        def loss_fn(params, xb, yb):
            logits, _ = model.stateless_call({"trainable": params, "non_trainable": rest}, xb)
            return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

        @jax.jit
        def step(params, opt_state, xb, yb):
            loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
            updates, opt_state = tx.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

        state = [variables["trainable"], tx.init(variables["trainable"])]

        def train(x, y):
            params, opt_state = state
            for xb, yb in _batches(x, y, batch):
                params, opt_state, _ = step(params, opt_state, xb, yb)
            state[:] = [params, opt_state]
            return jax.device_get(params)

        return train


class NNXLoop:
    """Flax NNX: `nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)` and an `@nnx.jit` step."""

    label = "nnx"

    def load(self) -> None:
        self.nnx = importlib.import_module("flax.nnx")
        self.optax = importlib.import_module("optax")

    def trainer(self, name: str) -> Train:
        nnx, optax, batch = self.nnx, self.optax, MODELS[name][1]
        model = build_nnx(nnx, name, nnx.Rngs(0))
        optimizer = nnx.Optimizer(model, optax.adam(LEARNING_RATE), wrt=nnx.Param)

        @nnx.jit
        def step(model, optimizer, xb, yb):
            def loss_fn(model):
                return optax.softmax_cross_entropy_with_integer_labels(model(xb), yb).mean()

            loss, grads = nnx.value_and_grad(loss_fn)(model)
            optimizer.update(model, grads)
            return loss

        def train(x, y):
            for xb, yb in _batches(x, y, batch):
                step(model, optimizer, xb, yb)
            return jax.device_get(nnx.state(model, nnx.Param))

        return train


def contenders() -> dict:
    """label -> contender, in the order tables list them."""
    return {
        "workbench": FitContender("workbench", "workbench"),
        "hand": HandLoop(),
        "keras": FitContender("keras", "keras"),
        "nnx": NNXLoop(),
    }
