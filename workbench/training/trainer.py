"""compile / fit / evaluate / predict, Keras' semantics over the compiled steps in `steps.py`.

`fit` keeps one train state pytree on device for the whole call and runs K
steps per dispatch (K = `steps_per_execution`, chosen automatically so that a
dispatch takes long enough to amortise the host's work, and short enough that
progress and callbacks update about every half second). The model's variables
are written back after every dispatch, so callbacks see the current weights,
and weights a callback sets are taken into the state before the next dispatch.
"""

from __future__ import annotations

import collections
import functools
import time
import warnings

import jax
import numpy as np

from workbench.distribute import placement
from workbench.profiling import timing
from workbench.profiling.memory import device_memory
from workbench.training import data as data_mod
from workbench.training import prefetch, watchers
from workbench.training import steps as steps_mod
from workbench.training.callbacks import CallbackList, History, ProgbarLogger, as_numbers
from workbench.training.compile import CompileSpec

_TARGET_EXECUTION_S = 0.05  # a dispatch this long makes per-dispatch host overhead negligible
_MAX_EXECUTION_S = 0.5  # ...but progress and callbacks still update at least this often
_MAX_K = 256
_IN_FLIGHT = 2  # dispatches queued ahead of the device


def compile(model, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
            run_eagerly=False, steps_per_execution="auto", jit_compile=True, distribution=None, **kwargs):
    if kwargs:
        raise ValueError(f"compile() got unexpected arguments {sorted(kwargs)}.")
    from workbench import distribute

    if distribution is not None and not isinstance(distribution, distribute.Distribution):
        raise TypeError(f"compile(distribution=...) takes a DataParallel, ModelParallel or FSDP; got "
                        f"{type(distribution).__name__}.")
    model._distribution = distribution or distribute.distribution()
    if model._distribution is not None and model.built:
        placement.check_layouts(model, model._distribution)
    model._compile_spec = CompileSpec(model, optimizer, loss, loss_weights, metrics, weighted_metrics,
                                      run_eagerly, steps_per_execution, jit_compile)
    model._compile_args = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights, "metrics": metrics,
                           "weighted_metrics": weighted_metrics, "steps_per_execution": steps_per_execution,
                           "jit_compile": jit_compile}
    model._tx = model._compile_spec.optimizer.to_optax()
    model._compiled_rate = getattr(model._compile_spec.optimizer, "_learning_rate", None)
    model._train_state = None
    model.optimizer = model._compile_spec.optimizer
    model.optimizer.bind_state(lambda: _live_opt_state(model), lambda new: _replace_opt_state(model, new))
    model._functions = {}
    model._auto_k = None
    model._loop_mode = None
    model._prepared = {}
    model.compiled = True


def _live_opt_state(model):
    state = getattr(model, "_train_state", None)
    return None if state is None else state["opt_state"]


def _replace_opt_state(model, opt_state) -> None:
    # Read by fit before its next dispatch: a callback's change takes effect at the next step.
    model._train_state = {**model._train_state, "opt_state": opt_state}


def _spec(model) -> CompileSpec:
    spec = getattr(model, "_compile_spec", None)
    if spec is None:
        raise RuntimeError(f"Model '{model.name}' must be compiled before training or evaluation: "
                           "call model.compile(optimizer=..., loss=...).")
    return spec


def _class_weight_to_sample_weight(y, class_weight: dict) -> np.ndarray:
    y = np.asarray(y)
    labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0].astype(int)
    missing = sorted(set(np.unique(labels).tolist()) - set(class_weight))
    if missing:
        raise ValueError(f"class_weight has no entry for classes {missing}; it covers {sorted(class_weight)}.")
    return np.asarray([class_weight[int(c)] for c in labels], "float32")


def _first_batch(source, epoch: int) -> dict:
    if hasattr(source, "first"):
        return source.first()
    for batch in source.epoch(epoch, steps=1):
        return batch
    raise ValueError("The data yielded no batches.")


def _signature(tree) -> tuple:
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return treedef, tuple((np.shape(a), np.result_type(a)) for a in leaves)


def _prepare(model, spec: CompileSpec, batch: dict, all_y=None) -> None:
    """Build the model, check the data and resolve metric names from the first batch, before any compilation.

    `all_y` (the whole target arrays, when in memory) is checked in full, not only its first batch.
    """
    if not model.built:
        model(batch["x"])
    _check_inputs(model, batch["x"])
    key = (_signature(batch["x"]), _signature(batch["y"]))
    out = getattr(model, "_prepared", {}).get(key)
    if out is None:  # traced once per input signature; later fit calls on the same data skip it
        variables = model.get_variables()
        try:
            jaxpr, out = jax.make_jaxpr(lambda v, x: model.stateless_call(v, x)[0], return_shape=True)(
                variables, batch["x"])
        except (ValueError, TypeError) as e:
            raise ValueError(f"Model '{model.name}' cannot take the given x: {e}") from None
        if getattr(model, "_loop_mode", None) is None:  # the same trace tells how steps should run
            model._loop_mode = steps_mod.uses_loops_well(jaxpr)
        spec.build_metrics(batch["y"], out)
        model._prepared = {key: out}
    if batch["y"] is not None:
        ys = spec.flatten(batch["y"] if all_y is None else all_y)
        for name, y, o, loss in zip(spec.names, ys, spec.flatten(out), spec.losses):
            _check_targets(name, y, o, loss)


def _check_inputs(model, x) -> None:
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return
    xs = x if isinstance(x, (list, tuple)) else list(x.values()) if isinstance(x, dict) else [x]
    for t, arr in zip(inputs, xs):
        shape = np.shape(arr)
        if len(shape) != len(t.shape) or any(d is not None and d != s for d, s in zip(t.shape[1:], shape[1:])):
            raise ValueError(
                f"Input '{t.name}' of model '{model.name}' expects samples of shape {t.shape[1:]}, "
                f"got data with samples of shape {tuple(shape[1:])}."
            )


def _check_targets(name, y, out, loss) -> None:
    if y is None or loss is None:
        return
    sparse = "sparse" in getattr(loss, "name", "")
    if sparse:
        n = out.shape[-1]
        labels = np.asarray(y)
        if labels.size and (labels.min() < 0 or labels.max() >= n):
            bad = labels.max() if labels.max() >= n else labels.min()
            raise ValueError(f"Output '{name}': sparse label {int(bad)} is out of range [0, {n}) for "
                             f"{n} classes.")


def _variables_changed(model, state) -> bool:
    """True when something (a callback's set_weights) replaced a weight since the last write-back."""
    synced = getattr(model, "_synced_arrays", None)
    if synced is None:
        return True
    return any(var._value is not array for var, array in synced)


def _write_back(model, state) -> None:
    """Point the model's variables at the state's arrays (no copy)."""
    paths = getattr(model, "_fit_paths", None)
    if paths is None:  # the layer tree is walked once per fit, not once per dispatch
        paths = model._fit_paths = model._variable_paths()
    flat = {**state["trainable"], **state["non_trainable"]}
    for path, var in paths:
        var._value = flat[path]
    model._synced_arrays = [(var, var._value) for _, var in paths]


def _refresh_from_model(model, state) -> dict:
    variables = model.get_variables()
    state = {**state, "trainable": dict(variables["trainable"]), "non_trainable": dict(variables["non_trainable"])}
    return placement.model_state(model, state)


def _function(model, key, make):
    from workbench.kernels import dispatch

    fns = model._functions
    key = (key, dispatch.default_implementation())  # the layers pick their kernels while tracing
    if key not in fns:
        fns[key] = make()
    return fns[key]


def _choose_k(model, spec, seconds_per_step: float, steps_per_epoch) -> int:
    """K from one step's measured time: dispatches of about _TARGET_EXECUTION_S, at most _MAX_EXECUTION_S."""
    if spec.steps_per_execution != "auto":
        return spec.steps_per_execution
    if getattr(model, "_auto_k", None) is None:  # measured once per compile: a new K recompiles
        t = max(seconds_per_step, 1e-6)
        k = min(max(1, int(_TARGET_EXECUTION_S / t)), max(1, int(_MAX_EXECUTION_S / t)), _MAX_K)
        # A power of two, so that the small jitter of one timing rarely changes K between runs (a new K is
        # a new program, which the persistent compilation cache would not have).
        model._auto_k = 1 << (k.bit_length() - 1)
    return model._auto_k if not steps_per_epoch else min(model._auto_k, steps_per_epoch)


def _uses_loops(model, batch) -> bool:
    """Whether this compiled model's steps run K to a loop (decided once per compile; see steps.py)."""
    if getattr(model, "_loop_mode", None) is None:
        jaxpr = jax.make_jaxpr(lambda v, x: model.stateless_call(v, x)[0])(model.get_variables(), batch["x"])
        model._loop_mode = steps_mod.uses_loops_well(jaxpr)
    return model._loop_mode


def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
        steps_per_epoch=None, validation_steps=None, validation_freq=1, seed=None, *, run_name=None,
        run_dir=None, log=None, histogram_freq=0, dashboard=None):
    spec = _spec(model)
    if class_weight is not None:
        if y is None or isinstance(y, (dict, list)):
            raise ValueError("class_weight needs y as one array (a single-output model).")
        cw = _class_weight_to_sample_weight(y, class_weight)
        sample_weight = cw if sample_weight is None else np.asarray(sample_weight, "float32") * cw
    if seed is None:
        # NumPy's global generator, which workbench.utils.set_random_seed seeds: runs repeat when seeded.
        seed = int(np.random.randint(2**31)) if getattr(model, "_fit_seed", None) is None else model._fit_seed
    source = data_mod.adapter(x, y, sample_weight, batch_size, shuffle, seed, steps_per_epoch)
    val_source = None
    if validation_split:
        if not isinstance(source, data_mod.ArrayBatches):
            raise ValueError("validation_split needs array inputs; pass validation_data for generators.")
        source, val_source = source.split(validation_split)
    if validation_data is not None:
        val_source = _validation_source(validation_data, batch_size, validation_steps)

    first = _first_batch(source, initial_epoch)
    _prepare(model, spec, first, getattr(source, "y", None))
    dist = getattr(model, "_distribution", None)
    if dist is not None:  # fails here, before compiling, when the devices cannot share the batch
        local = int(np.shape(jax.tree_util.tree_leaves(first["x"])[0])[0])
        dist.check_batch_size(local * (jax.process_count() if getattr(source, "process_local", False) else 1))
        placement.check_layouts(model, dist)
    loop = _uses_loops(model, first)
    steps = steps_per_epoch or source.steps_per_epoch
    history = History()
    hparams = {"epochs": epochs, "batch_size": getattr(source, "batch_size", None), "steps_per_epoch": steps,
               "shuffle": bool(shuffle), "validation_split": validation_split, "initial_epoch": initial_epoch,
               "seed": int(seed)}
    run_logger = watchers.run_logger(model, list(callbacks or []), log, run_name, run_dir, histogram_freq, hparams, x, y)
    # Keras' order: the user's callbacks, then the run's logger and History (so they record what the user's
    # add to the logs), then the progress bar.
    if verbose == "auto":
        verbose = 1
    dash = watchers.dashboard_callback(model, list(callbacks or []), dashboard, run_logger, run_name, verbose)
    cbs = list(callbacks or []) + [c for c in (run_logger, dash) if c is not None] + [history]
    from workbench.viz.callback import DashboardCallback

    shown = any(isinstance(c, DashboardCallback) for c in cbs)  # a dashboard replaces the progress bar
    if verbose and not shown and not any(isinstance(c, ProgbarLogger) for c in cbs):
        cbs.append(ProgbarLogger())
    model.history = history
    cb = CallbackList(cbs, model, {"epochs": epochs, "steps": steps, "verbose": verbose})

    tx = model._tx
    state = model._train_state
    fresh_metrics = state is None
    if state is None:
        state = steps_mod.init_state(model, spec, tx, seed=seed % (2**31))
        rate = getattr(spec.optimizer, "_learning_rate", None)
        if isinstance(rate, (int, float)) and rate != model._compiled_rate:  # set after compile()
            state = {**state, "opt_state": spec.optimizer.set_learning_rate(state["opt_state"], rate)}
    else:
        state = _refresh_from_model(model, state)
    state = placement.model_state(model, state)
    start_epoch, start_step, record = initial_epoch, 0, None
    for c in cbs:
        resumed = c.restore_train_state(state)
        if resumed is not None:
            state, record = resumed
            state = placement.model_state(model, state)
            fresh_metrics = False
            start_epoch, start_step = record["position"]["epoch"], record["position"]["step"]
            seed = record["seed"]
            source.seed = seed
            if isinstance(source, data_mod.DatasetBatches):
                source.resume = record.get("data")
            break
    shardings = None if getattr(model, "_distribution", None) is None else \
        jax.tree_util.tree_map(lambda a: a.sharding, state)
    train_fn = _function(model, ("train", loop), lambda: steps_mod.make_train_function(model, spec, tx, loop,
                                                                                        shardings))
    results_fn = _function(model, "results", lambda: steps_mod.make_results_function(spec))
    # Fresh metric accumulators each epoch: a host copy of the initial ones, sent back (nothing to compile).
    initial_metrics = _function(model, "initial_metrics", lambda: jax.device_get(
        state["metrics"] if fresh_metrics else jax.jit(spec.init_metric_states)()))

    model.stop_training = False
    model._fit_data_wait = 0.0  # seconds the training loop waited for input batches (after the first steps)
    model.nan_step = None
    model._fit_paths = None
    model._fit_seed_used = seed
    model._train_state = state
    _write_back(model, state)
    timer = timing.StepTimer() if timing.enabled() else None
    model._step_timer = timer
    compiles = model._compile_log = timing.CompileLog(timer)
    compiles.listeners.append(cb.on_profile)
    model.fit_profile = {"steps": [], "compiles": compiles.records}
    dispatch = _Dispatcher(model, train_fn, results_fn, cb, compiles, global_step=int(state["step"]), source=source)
    model._fit_position = {"epoch": start_epoch, "step": start_step, "global_step": dispatch.global_step}
    # What a checkpoint saves about the input: the Dataset iterator's position after the last step run.
    model._fit_data_state = (lambda: source.state_at(model._fit_position["epoch"], model._fit_position["step"])) \
        if isinstance(source, data_mod.DatasetBatches) else (lambda: None)
    logs: dict = {}
    try:
        cb.on_train_begin()
        if record is not None:
            history.history = {k: list(v) for k, v in record["history"].items()}
            history.epoch = list(range(start_epoch - len(next(iter(history.history.values()), [])), start_epoch))
        if not loop:
            k = 1
        elif spec.steps_per_execution != "auto":
            k = spec.steps_per_execution
        else:
            k = getattr(model, "_auto_k", None)
        if k is not None and steps:
            k = min(k, steps)
        for epoch in range(start_epoch, epochs):
            step = start_step if epoch == start_epoch else 0
            if step == 0 and not fresh_metrics:
                metrics = jax.device_put(initial_metrics) if shardings is None else \
                    jax.tree_util.tree_map(placement.put, initial_metrics, shardings["metrics"])
                model._train_state = {**model._train_state, "metrics": metrics}
            fresh_metrics = False
            cb.on_epoch_begin(epoch)
            batches = source.epoch(epoch, steps, start=step)
            if k is None:
                # The first two steps run alone: the first compiles K=1, the second's time picks K.
                for i, batch in zip(range(2), batches):
                    stacked, valid = data_mod.stack([batch], 1)
                    dispatch.wait()
                    started = time.perf_counter()
                    step, logs = dispatch(stacked, valid, 1, epoch, step)
                    if i == 1:
                        dispatch.wait()
                        k = _choose_k(model, spec, time.perf_counter() - started, steps)
            feed = prefetch.Prefetcher(batches, k or 1)
            try:
                for stacked, valid, n in feed:
                    if model.stop_training:
                        break
                    step, logs = dispatch(stacked, valid, n, epoch, step)
            finally:
                feed.close()
                model._fit_data_wait += feed.wait_seconds
                timing.current(model).add("data_wait", feed.wait_seconds)
            if getattr(source, "exhausted", False):
                model.stop_training = True
            state = model._train_state
            with timing.current(model).measure("device"):
                epoch_logs = as_numbers(results_fn(state["metrics"]))
            if val_source is not None and (epoch + 1) % validation_freq == 0:
                with timing.current(model).measure("validation"):
                    val = _evaluate_source(model, spec, val_source,
                                           {**state["trainable"], **state["non_trainable"]}, validation_steps)
                epoch_logs.update({f"val_{k_}": v for k_, v in val.items()})
            logs = epoch_logs
            model._fit_position = {"epoch": epoch + 1, "step": 0, "global_step": dispatch.global_step}
            cb.on_epoch_end(epoch, logs)
            if timer is not None:
                record = {"kind": "steps", "epoch": epoch, "step": dispatch.global_step, "wall": time.time(),
                          **timer.take(), "memory": device_memory()}
                model.fit_profile["steps"].append(record)
                cb.on_profile(record)
            if model.stop_training:
                break
        _write_back(model, model._train_state)
        cb.on_train_end(logs)
    except KeyboardInterrupt:
        _write_back(model, model._train_state)
        for c in cbs:
            if hasattr(c, "mark") and getattr(c, "run_id", None) is not None:
                c.mark("interrupted")
        warnings.warn("Training interrupted: the model keeps the weights of the last finished step.", stacklevel=2)
        return history
    finally:
        model._step_timer = model._compile_log = None
        for c in cbs:
            c.on_fit_exit()
            if getattr(c, "run_id", None) is not None and getattr(c, "path", None) is not None:
                model._run_path = c.path  # what model.export() with no path writes into
    return history


class _Dispatcher:
    """Runs groups of steps on the model's train state without waiting for the device.

    The logs handed to batch-level callbacks are device scalars: reading one waits
    for its step, and nothing else does. At most `_IN_FLIGHT` dispatches are queued
    ahead of the device, so the memory held by queued batches stays bounded.
    """

    def __init__(self, model, train_fn, results_fn, cb, compiles: timing.CompileLog, global_step: int, source=None):
        self.model, self.train_fn, self.results_fn, self.cb = model, train_fn, results_fn, cb
        self.source = source  # whose batches are process-local in a multi-process run
        self.compiles = compiles
        self.global_step = global_step
        self.in_flight: collections.deque = collections.deque()

    def __call__(self, stacked, valid, n: int, epoch: int, step: int) -> tuple[int, dict]:
        """Run the `n` valid steps of a group; returns the epoch's next step and the batch logs."""
        model = self.model
        state = model._train_state
        if _variables_changed(model, state):
            state = _refresh_from_model(model, state)
        self.cb.on_train_batch_begin(step)
        stacked = placement.model_batch(model, stacked, self.source)
        state, losses = self.compiles.call("train step", self.train_fn, state, stacked, valid,
                                           arg_names=("state", "batch", "valid"), axis0="steps per dispatch",
                                           context={"epoch": epoch, "step": self.global_step})
        model._train_state = state
        model._first_nonfinite = functools.partial(_first_nonfinite, losses, n, step)
        # Per-step losses of this dispatch for loggers: (device array, valid count, global step of the first).
        model._step_losses = (losses, n, self.global_step)
        model._last_batch = (stacked, n)  # for loggers computing gradient histograms (n valid steps)
        step += n
        self.global_step += n
        _write_back(model, state)
        model._fit_position = {"epoch": epoch, "step": step, "global_step": self.global_step}
        self.in_flight.append(losses)
        timer = timing.current(model)
        if len(self.in_flight) > _IN_FLIGHT:
            with timer.measure("device"):
                self.in_flight.popleft().block_until_ready()
        logs = self.compiles.call("metrics", self.results_fn, state["metrics"], arg_names=("metrics",))
        self.cb.on_train_batch_end(step - 1, logs)
        if isinstance(timer, timing.StepTimer):
            timer.steps += n
        return step, logs

    def wait(self) -> None:
        """Block until every dispatched step has run."""
        with timing.current(self.model).measure("device"):
            while self.in_flight:
                self.in_flight.popleft().block_until_ready()


def _first_nonfinite(losses, n: int, offset: int):
    """Index (within the epoch) of the first step whose loss is NaN or infinite, else None."""
    values = np.asarray(losses)[:n]
    bad = np.flatnonzero(~np.isfinite(values))
    return int(offset + bad[0]) if bad.size else None


def _validation_source(validation_data, batch_size, validation_steps):
    from workbench.data import Dataset

    if isinstance(validation_data, Dataset):
        return data_mod.DatasetBatches(validation_data, validation_steps)
    if isinstance(validation_data, tuple) and len(validation_data) in (2, 3):
        x, y = validation_data[0], validation_data[1]
        sw = validation_data[2] if len(validation_data) == 3 else None
        return data_mod.ArrayBatches(x, y, sw, batch_size or 32, False) if _is_array_like(x) else \
            data_mod.IterableBatches(validation_data, validation_steps)
    return data_mod.IterableBatches(validation_data, validation_steps)


def _is_array_like(x) -> bool:
    return all(isinstance(leaf, (np.ndarray, jax.Array, np.generic)) for leaf in jax.tree_util.tree_leaves(x))


def _evaluate_source(model, spec, source, flat_variables, steps=None) -> dict:
    variables = model.get_variables()
    variables = {sec: {p: flat_variables[p] for p in variables[sec]} for sec in variables}
    variables = placement.model_variables(model, variables)
    # Decided when the data was first checked; a batch is read only if it was not.
    loop = model._loop_mode if getattr(model, "_loop_mode", None) is not None else \
        _uses_loops(model, _first_batch(source, 0))
    test_fn = _function(model, ("test", loop), lambda: steps_mod.make_test_function(model, spec, loop))
    results_fn = _function(model, "results", lambda: steps_mod.make_results_function(spec))
    metrics = spec.init_metric_states()
    k = 1 if not loop else spec.steps_per_execution if spec.steps_per_execution != "auto" else 32
    feed = prefetch.Prefetcher(source.epoch(0, steps), k)
    compiles = getattr(model, "_compile_log", None)  # in a fit: validation's compilations are logged too
    try:
        for stacked, valid, _ in feed:
            stacked = placement.model_batch(model, stacked, source)
            if compiles is None:
                metrics = test_fn(variables, metrics, stacked, valid)
            else:
                metrics = compiles.call("test step", test_fn, variables, metrics, stacked, valid,
                                        arg_names=("variables", "metrics", "batch", "valid"), category="validation")
    finally:
        feed.close()
    return as_numbers(results_fn(metrics))


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
             callbacks=None, return_dict=False):
    spec = _spec(model)
    source = data_mod.adapter(x, y, sample_weight, batch_size, False, 0, steps)
    _prepare(model, spec, _first_batch(source, 0), getattr(source, "y", None))
    variables = model.get_variables()
    logs = _evaluate_source(model, spec, source, {**variables["trainable"], **variables["non_trainable"]}, steps)
    if return_dict:
        return logs
    values = [logs["loss"]] + [v for k, v in logs.items() if k != "loss"]
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    source = data_mod.adapter(x, None, None, batch_size, False, 0, steps)
    first = _first_batch(source, 0)
    if not model.built:
        model(first["x"])
    _check_inputs(model, first["x"])
    predict_fn = _function(model, "predict", lambda: steps_mod.make_predict_function(model)) \
        if hasattr(model, "_functions") else steps_mod.make_predict_function(model)
    variables = model.get_variables()
    outs = []
    for batch in source.epoch(0, steps):
        y = predict_fn(variables, batch["x"])
        n = int(batch["mask"].sum())
        outs.append(jax.tree_util.tree_map(lambda a, n=n: np.asarray(a)[:n], y))
    return jax.tree_util.tree_map(lambda *parts: np.concatenate(parts, axis=0), *outs)


def train_on_batch(model, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
    history = fit(model, x, y, batch_size=len(jax.tree_util.tree_leaves(x)[0]), epochs=1, verbose=0,
                  sample_weight=sample_weight, class_weight=class_weight, shuffle=False)
    logs = {k: v[-1] for k, v in history.history.items()}
    return logs if return_dict else _values(logs)


def test_on_batch(model, x, y=None, sample_weight=None, return_dict=False):
    logs = evaluate(model, x, y, batch_size=len(jax.tree_util.tree_leaves(x)[0]), sample_weight=sample_weight,
                    return_dict=True)
    return logs if return_dict else _values(logs)


def predict_on_batch(model, x):
    return predict(model, x, batch_size=len(jax.tree_util.tree_leaves(x)[0]))


def _values(logs: dict):
    values = [logs["loss"]] + [v for k, v in logs.items() if k != "loss"]
    return values[0] if len(values) == 1 else values
