"""Memory: what the compiled train step needs, and what the device holds now.

`train_step_memory` compiles the model's train step for one batch (without
running it) and reads XLA's memory analysis: the bytes of its arguments (the
train state and the batch), its outputs, the temporaries it allocates while
running (activations kept for the backward pass, gradients, optimizer
scratch), and how much of the output reuses donated argument buffers.
`device_memory` asks the runtime for the bytes in use and the peak, where the
backend reports them (GPUs and TPUs do; the CPU does not).
"""

from __future__ import annotations

from typing import Any

import jax


def train_step_memory(model, x, y=None, *, sample_weight=None, batch_size: int | None = None) -> dict[str, Any]:
    """XLA's memory analysis of one train step of the compiled `model` on batches like `x[:batch_size]`.

    Returns bytes: `arguments`, `outputs`, `temporaries`, `aliased` (outputs written into donated
    arguments), `generated_code`, and `peak_estimate` = arguments + outputs - aliased + temporaries,
    with `batch_size` and `platform`. Nothing runs on the device, and no state is allocated.
    """
    from workbench.training import data as data_mod
    from workbench.training import steps as steps_mod
    from workbench.training import trainer

    spec = trainer._spec(model)
    source = data_mod.adapter(x, y, sample_weight, batch_size, False, 0, None)
    batch = trainer._first_batch(source, 0)
    trainer._prepare(model, spec, batch)
    stacked, valid = data_mod.stack([batch], 1)
    state = jax.eval_shape(lambda: steps_mod.init_state(model, spec, model._tx))
    function = steps_mod.make_train_function(model, spec, model._tx, loop=False)
    analysis = function.lower(state, stacked, valid).compile().memory_analysis()
    if analysis is None:
        raise RuntimeError(f"The {jax.default_backend()} backend gives no memory analysis of compiled programs.")
    out = {
        "arguments": int(analysis.argument_size_in_bytes),
        "outputs": int(analysis.output_size_in_bytes),
        "temporaries": int(analysis.temp_size_in_bytes),
        "aliased": int(analysis.alias_size_in_bytes),
        "generated_code": int(analysis.generated_code_size_in_bytes),
    }
    out["peak_estimate"] = out["arguments"] + out["outputs"] - out["aliased"] + out["temporaries"]
    out["batch_size"] = int(jax.tree_util.tree_leaves(batch["x"])[0].shape[0])
    out["platform"] = jax.default_backend()
    return out


def device_memory(device=None) -> dict[str, int] | None:
    """`{"bytes_in_use", "peak_bytes_in_use", "bytes_limit"}` of a device (the first by default), or None where
    the backend does not report them."""
    device = device or jax.local_devices()[0]
    try:
        stats = device.memory_stats()
    except (AttributeError, NotImplementedError, RuntimeError):
        return None
    if not stats:
        return None
    keys = ("bytes_in_use", "peak_bytes_in_use", "bytes_limit")
    return {k: int(stats[k]) for k in keys if k in stats} or None
