"""workbench.optimizers against Keras 3: update numerics, learning-rate state, get() and configs."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest

from workbench import optimizers
from workbench.optimizers import schedules

SHAPES = [(3, 4), (5,)]
_rng = np.random.default_rng(0)
INIT = [_rng.normal(size=s).astype("float32") for s in SHAPES]
GRADS = [[_rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(5)]


def keras_run(keras_opt, grads=GRADS, lr_changes=None):
    """Variables after Keras applies `grads` one step at a time; `lr_changes` maps step -> new lr."""
    variables = [keras.Variable(v) for v in INIT]
    for i, g in enumerate(grads):
        if lr_changes and i in lr_changes:
            keras_opt.learning_rate = lr_changes[i]
        keras_opt.apply_gradients(zip([jnp.asarray(x) for x in g], variables))
    return [np.asarray(v.numpy()) for v in variables]


def ours_run(opt, grads=GRADS):
    tx = opt.to_optax()
    params = [jnp.asarray(v) for v in INIT]
    state = tx.init(params)
    for g in grads:
        updates, state = tx.update([jnp.asarray(x) for x in g], state, params)
        params = optax.apply_updates(params, updates)
    return [np.asarray(p) for p in params]


def assert_matches(ours, theirs):
    for o, t, v0 in zip(ours, theirs, INIT):
        np.testing.assert_allclose(o, t, rtol=1e-5, atol=1e-6)
        # The displacement too, so that a wrong epsilon or decay cannot hide behind large weights.
        np.testing.assert_allclose(o - v0, t - v0, rtol=1e-4, atol=1e-6)


def keras_schedule(ours):
    return keras.optimizers.schedules.deserialize(
        {
            "class_name": type(ours).__name__,
            "config": ours.get_config(),
            "module": "keras.optimizers.schedules",
        }
    )


# (name, kwargs): each runs in both libraries with the same arguments.
EXACT = [
    ("sgd", {}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("adam", {}),
    ("adam", {"learning_rate": 0.1, "beta_1": 0.8, "beta_2": 0.99}),
    ("adam", {"learning_rate": 0.1, "epsilon": 0.5}),  # Keras' epsilon placement matters here
    ("adam", {"learning_rate": 0.1, "amsgrad": True, "epsilon": 0.1}),
    ("adamw", {"learning_rate": 0.1}),
    ("rmsprop", {"learning_rate": 0.1, "epsilon": 0.1}),
    ("rmsprop", {"learning_rate": 0.1, "rho": 0.8, "centered": True, "momentum": 0.5, "epsilon": 0.1}),
    ("adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 0.1}),
    ("adamax", {"learning_rate": 0.1}),
    ("lion", {"learning_rate": 0.1, "beta_1": 0.5}),
]


@pytest.mark.parametrize("name, kwargs", EXACT, ids=[f"{n}-{'-'.join(k) or 'defaults'}" for n, k in EXACT])
def test_updates_match_keras(name, kwargs):
    ours = ours_run(optimizers.get({"class_name": name, "config": kwargs}))
    theirs = keras_run(keras.optimizers.get({"class_name": name, "config": dict(kwargs)}))
    assert_matches(ours, theirs)


# (name, base kwargs, variant kwargs): the variant must match Keras and differ from the base.
VARIANTS = [
    ("adam", {"learning_rate": 0.1}, {"clipnorm": 0.5}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9}, {"clipvalue": 0.3}),
    ("rmsprop", {"learning_rate": 0.1}, {"global_clipnorm": 1.0}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9}, {"weight_decay": 0.5}),
    ("rmsprop", {"learning_rate": 0.1, "momentum": 0.5}, {"weight_decay": 0.5}),
    ("lion", {"learning_rate": 0.1}, {"weight_decay": 0.5}),
    ("adam", {"learning_rate": 0.1}, {"weight_decay": 0.5, "global_clipnorm": 0.5}),
    ("sgd", {"momentum": 0.9}, {"learning_rate": schedules.ExponentialDecay(0.5, 2, 0.3)}),
    # (Keras' CosineDecay with warmup compiles its ops.cond on every eager step: too slow here.)
    ("adamw", {"learning_rate": 0.1}, {"learning_rate": schedules.InverseTimeDecay(0.3, 1, 0.5)}),
    (
        "rmsprop",
        {"learning_rate": 0.1},
        {"learning_rate": schedules.PiecewiseConstantDecay([1, 2], [0.3, 0.1, 0.02])},
    ),
]


@pytest.mark.parametrize(
    "name, base, variant", VARIANTS, ids=[f"{n}-{'-'.join(v)}-{i}" for i, (n, _, v) in enumerate(VARIANTS)]
)
def test_variants_match_keras(name, base, variant):
    kwargs = {**base, **variant}
    ours = ours_run(optimizers.get({"class_name": name, "config": kwargs}))
    keras_kwargs = dict(kwargs)
    if isinstance(kwargs["learning_rate"], schedules.LearningRateSchedule):
        keras_kwargs["learning_rate"] = keras_schedule(kwargs["learning_rate"])
    theirs = keras_run(keras.optimizers.get({"class_name": name, "config": keras_kwargs}))
    assert_matches(ours, theirs)
    plain = ours_run(optimizers.get({"class_name": name, "config": base}))
    assert not all(np.allclose(a, b, rtol=1e-4) for a, b in zip(ours, plain)), "the variant changed nothing"


def test_optax_schedule_as_learning_rate_matches_keras_schedule():
    ours = ours_run(optimizers.SGD(optax.exponential_decay(0.5, 2, 0.3), momentum=0.9))
    theirs = keras_run(
        keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.5, 2, 0.3), momentum=0.9)
    )
    assert_matches(ours, theirs)


def test_adamax_epsilon_differs_from_keras_by_at_most_epsilon():
    # optax folds eps into the running max; Keras adds it afterwards (see Adamax's docstring).
    ours = ours_run(optimizers.Adamax(0.1, epsilon=0.1))
    theirs = keras_run(keras.optimizers.Adamax(0.1, epsilon=0.1))
    diff = max(np.max(np.abs(o - t)) for o, t in zip(ours, theirs))
    assert 0 < diff < 1e-3


def _keras_scan_steps(keras_opt, init, grads):
    """Per-step updates of a Keras optimizer over many steps: its stateless_apply under lax.scan."""
    var = keras.Variable(init)
    keras_opt.build([var])

    def step(carry, g):
        opt_vars, value = carry
        (new_value,), opt_vars = keras_opt.stateless_apply(opt_vars, [g], [value])
        return (opt_vars, new_value), new_value - value

    carry = ([v.value for v in keras_opt.variables], var.value)
    return np.asarray(jax.jit(lambda c, g: jax.lax.scan(step, c, g))(carry, grads)[1])


def test_nadam_is_optax_nadam_and_converges_to_keras():
    init = jnp.asarray(INIT[1])
    grads = jnp.asarray(np.random.default_rng(1).normal(size=(300, 5)).astype("float32"))
    tx = optimizers.Nadam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-3).to_optax()
    reference = optax.nadam(0.01, b1=0.8, b2=0.99, eps=1e-3)

    def run(tx):
        def step(carry, g):
            params, state = carry
            updates, state = tx.update(g, state, params)
            return (optax.apply_updates(params, updates), state), updates

        return np.asarray(jax.lax.scan(step, (init, tx.init(init)), grads)[1])

    ours = run(tx)
    np.testing.assert_allclose(ours, run(reference), rtol=1e-6, atol=1e-9)
    theirs = _keras_scan_steps(
        keras.optimizers.Nadam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-3), init, grads
    )
    # Keras' momentum schedule beta_1 * (1 - 0.5 * 0.96**t) makes early steps differ ...
    assert np.max(np.abs(ours[0] - theirs[0]) / np.abs(theirs[0])) > 0.1
    # ... and vanishes with 0.96**t.
    np.testing.assert_allclose(ours[-1], theirs[-1], rtol=1e-3, atol=1e-7)


# ---------------------------------------------------------------- learning rate in the state


@pytest.mark.parametrize(
    "name, kwargs",
    [("sgd", {"momentum": 0.9}), ("adam", {}), ("rmsprop", {"momentum": 0.5, "weight_decay": 0.1})],
)
def test_set_learning_rate_between_steps_matches_keras_without_retracing(name, kwargs):
    opt = optimizers.get({"class_name": name, "config": {"learning_rate": 0.1, **kwargs}})
    tx = opt.to_optax()
    traces = []

    @jax.jit
    def step(params, state, grads):
        traces.append(1)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    params = [jnp.asarray(v) for v in INIT]
    state = tx.init(params)
    changes = {2: 0.02, 4: 0.3}
    for i, g in enumerate(GRADS):
        if i in changes:
            state = opt.set_learning_rate(state, changes[i])
            assert float(opt.get_learning_rate(state)) == pytest.approx(changes[i])
        params, state = step(params, state, [jnp.asarray(x) for x in g])
    assert len(traces) == 1
    theirs = keras_run(
        keras.optimizers.get({"class_name": name, "config": {"learning_rate": 0.1, **kwargs}}),
        lr_changes=changes,
    )
    assert_matches([np.asarray(p) for p in params], theirs)


def test_set_learning_rate_to_zero_freezes_params():
    opt = optimizers.Adam(0.1)
    tx = opt.to_optax()
    params = jnp.ones(3)
    state = opt.set_learning_rate(tx.init(params), 0.0)
    updates, state = jax.jit(tx.update)(jnp.ones(3), state, params)
    np.testing.assert_array_equal(updates, 0.0)
    assert opt.get_learning_rate(state).dtype == jnp.float32


def test_schedule_learning_rate_is_read_at_the_state_step_and_not_settable():
    sched = schedules.ExponentialDecay(0.1, 1, 0.5)
    opt = optimizers.SGD(sched)
    keras_opt = keras.optimizers.SGD(keras_schedule(sched))
    tx = opt.to_optax()
    params = jnp.ones(2)
    state = tx.init(params)
    variable = keras.Variable(np.ones(2, "float32"))
    for _ in range(3):
        _, state = tx.update(jnp.ones(2), state, params)
        keras_opt.apply_gradients([(jnp.ones(2), variable)])
    assert float(opt.get_learning_rate(state)) == pytest.approx(
        float(keras_opt.learning_rate)
    )  # 0.1 * 0.5**3
    with pytest.raises(TypeError, match="schedule"):
        opt.set_learning_rate(state, 0.5)
    with pytest.raises(TypeError, match="schedule"):
        opt.learning_rate = 0.5


def test_full_training_loop_under_jit_and_scan_matches_keras():
    opt = optimizers.AdamW(schedules.PolynomialDecay(0.2, 4, 0.01), weight_decay=0.1, clipnorm=1.0)
    tx = opt.to_optax()

    def step(carry, grads):
        params, state = carry
        updates, state = tx.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    params = [jnp.asarray(v) for v in INIT]
    stacked = [jnp.stack([g[i] for g in GRADS]) for i in range(len(SHAPES))]
    (params, state), _ = jax.jit(lambda p, s, g: jax.lax.scan(step, (p, s), g))(
        params, tx.init(params), stacked
    )
    keras_opt = keras.optimizers.AdamW(
        keras.optimizers.schedules.PolynomialDecay(0.2, 4, 0.01), weight_decay=0.1, clipnorm=1.0
    )
    assert_matches([np.asarray(p) for p in params], keras_run(keras_opt))
    assert int(optax.tree.get_all_with_path(state, "InjectStatefulHyperparamsState")[0][1].count) == 5


def test_optax_transformations_are_wrapped():
    raw = optax.sgd(0.1)
    opt = optimizers.get(raw)
    assert isinstance(opt, optimizers.OptaxOptimizer)
    assert opt.to_optax() is raw
    with pytest.raises(ValueError, match="inject_hyperparams"):
        opt.get_learning_rate(raw.init(jnp.ones(2)))
    injected = optimizers.get(optax.inject_hyperparams(optax.adam)(learning_rate=0.1))
    state = injected.to_optax().init(jnp.ones(2))
    state = injected.set_learning_rate(state, 0.05)
    assert float(injected.get_learning_rate(state)) == pytest.approx(0.05)
    with pytest.raises(TypeError, match="no config"):
        injected.get_config()


# ---------------------------------------------------------------- get() and configs


def test_get_resolves_every_keras_name():
    for name in ["adam", "adamw", "sgd", "rmsprop", "adagrad", "adamax", "nadam", "lion"]:
        opt = optimizers.get(name)
        theirs = keras.optimizers.get(name)
        assert type(opt).__name__ == type(theirs).__name__
        assert opt.learning_rate == pytest.approx(float(theirs.learning_rate))
        assert isinstance(opt.to_optax(), optax.GradientTransformation)
    assert isinstance(optimizers.get("Adam"), optimizers.Adam)
    opt = optimizers.SGD()
    assert optimizers.get(opt) is opt
    assert optimizers.get(None) is None


def test_get_unknown_names_and_types_list_valid_names():
    with pytest.raises(ValueError, match=r"Did you mean 'rmsprop'.*'adagrad'.*'sgd'"):
        optimizers.get("rmsprp")
    with pytest.raises(ValueError, match="rmsprop"):
        optimizers.get(42)
    with pytest.raises(ValueError, match="Unknown optimizer"):
        optimizers.get({"class_name": "Adadelta", "config": {}})


def test_argument_errors_say_what_arrived():
    with pytest.raises(ValueError, match="only one of clipnorm"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="got 'fast'"):
        optimizers.Adam(learning_rate="fast")
    with pytest.raises(ValueError, match="use_ema"):
        optimizers.Adam(use_ema=True)
    with pytest.raises(ValueError, match="momentum_2"):
        optimizers.SGD(momentum_2=0.1)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Lion(beta_1=0.0)


@pytest.mark.parametrize("name", sorted(optimizers.ALL_OPTIMIZERS))
def test_config_round_trips_and_matches_keras_keys(name):
    opt = optimizers.get(name)
    config = opt.get_config()
    again = type(opt).from_config(config)
    assert again.get_config() == config
    keras_config = keras.optimizers.get(name).get_config()
    assert set(config) == set(keras_config)
    from_keras = type(opt).from_config(keras_config)
    assert from_keras.learning_rate == pytest.approx(opt.learning_rate)
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == config


def test_schedule_config_round_trips_through_keras_layout():
    opt = optimizers.Adam(schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=5), clipnorm=2.0)
    config = optimizers.serialize(opt)
    again = optimizers.deserialize(config)
    assert isinstance(again.learning_rate, schedules.CosineDecay)
    assert again.get_config() == opt.get_config()
    keras_opt = keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=5)
    )
    loaded = optimizers.deserialize(keras.optimizers.serialize(keras_opt))
    assert loaded.learning_rate.get_config() == opt.learning_rate.get_config()
