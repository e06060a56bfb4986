"""Training throughput: workbench `fit` against Keras 3 `fit` (JAX backend) and a hand-written loop.

The hand-written loop is the usual reference: `jax.jit` of one optax step, one
dispatch per step. All three train the same models on the same random data,
interleaved in one process so machine noise hits them alike. Reported: steady
steps/s (epochs after the first), time to first step (build + compile + one
step), and the ratios to the peers.

    python benchmarks/train_throughput.py --steps 400 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

MODELS = {
    # name: (input shape, builder(layers module, Input, Sequential), batch size)
    "small_mlp_64_128_10_b32": ((64,), 32),
    "large_mlp_784_512_512_10_b128": ((784,), 128),
    "convnet_28x28x1_b128": ((28, 28, 1), 128),
}


def build(lib, name):
    L = lib.layers
    shape, _ = MODELS[name]
    if name.startswith("small"):
        body = [L.Dense(128, activation="relu"), L.Dense(10)]
    elif name.startswith("large"):
        body = [L.Dense(512, activation="relu"), L.Dense(512, activation="relu"), L.Dense(10)]
    else:
        body = [L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(), L.Conv2D(64, 3, activation="relu"),
                L.MaxPooling2D(), L.Flatten(), L.Dense(10)]
    return lib.Sequential([lib.Input(shape)] + body)


def data(name, steps):
    shape, batch = MODELS[name]
    rng = np.random.default_rng(0)
    n = batch * steps
    return rng.normal(size=(n,) + shape).astype("float32"), rng.integers(0, 10, n).astype("int32"), batch


def run_fit(lib, name, steps, epochs):
    x, y, batch = data(name, steps)
    lib.utils.set_random_seed(0)
    model = build(lib, name)
    model.compile(optimizer=lib.optimizers.Adam(1e-3),
                  loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True))
    t0 = time.perf_counter()
    model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)
    first = time.perf_counter() - t0
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        times.append(time.perf_counter() - t0)
    return steps / min(times), first


def run_hand_loop(name, steps, epochs):
    """Reference: workbench's pure model, one jitted optax step per batch."""
    import workbench

    x, y, batch = data(name, steps)
    workbench.utils.set_random_seed(0)
    model = build(workbench, name)
    variables = model.get_variables()
    params, rest = variables["trainable"], variables["non_trainable"]
    tx = optax.adam(1e-3)

    def loss_fn(p, xb, yb):
        logits, _ = model.stateless_call({"trainable": p, "non_trainable": rest}, xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    @jax.jit
    def step(p, s, xb, yb):
        loss, g = jax.value_and_grad(loss_fn)(p, xb, yb)
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    t0 = time.perf_counter()
    state = tx.init(params)
    params, state, loss = step(params, state, jnp.asarray(x[:batch]), jnp.asarray(y[:batch]))
    loss.block_until_ready()
    first = time.perf_counter() - t0
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for i in range(steps):
            params, state, loss = step(params, state, x[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch])
        loss.block_until_ready()
        times.append(time.perf_counter() - t0)
    return steps / min(times), first


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300, help="steps per timed epoch")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per contender (best is kept)")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    args = parser.parse_args()
    import keras

    import workbench

    rows = []
    for name in args.models:
        steps = args.steps if not name.startswith("convnet") else max(args.steps // 5, 20)
        wb, wb_first = run_fit(workbench, name, steps, args.repeats)
        hand, hand_first = run_hand_loop(name, steps, args.repeats)
        ks, ks_first = run_fit(keras, name, steps, args.repeats)
        rows.append((name, wb, hand, ks, wb_first, ks_first))
        print(f"{name}: workbench {wb:.0f} steps/s, hand loop {hand:.0f}, keras {ks:.0f}; "
              f"first step {wb_first:.2f}s vs keras {ks_first:.2f}s", flush=True)
    print()
    print("| model | workbench steps/s | hand loop | Keras 3 | vs hand | vs Keras | first step (wb / Keras) |")
    print("|---|---|---|---|---|---|---|")
    for name, wb, hand, ks, wf, kf in rows:
        print(f"| {name} | {wb:.0f} | {hand:.0f} | {ks:.0f} | {wb / hand:.2f}x | {wb / ks:.2f}x | "
              f"{wf:.2f}s / {kf:.2f}s |")


if __name__ == "__main__":
    main()
