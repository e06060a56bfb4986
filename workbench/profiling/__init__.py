"""Where time and memory go: per-layer costs, the train step's memory, fit's step-time breakdown and
recompilation log, and profiler traces.

- `layer_costs(model, batch)`: each layer's FLOPs and bytes accessed (XLA's cost analysis), forward
  and forward+backward; `model.summary(costs=True)` prints them.
- `train_step_memory(model, x, y)` and `device_memory()`: the compiled train step's memory analysis,
  and the device's bytes in use where the backend reports them.
- `fit` records where its wall time goes and every compilation with its cause (`timing`), in
  `model.fit_profile` and in the run folder.
- `trace(model, steps=N, x=..., y=...)`: a jax.profiler trace, summarised by op and by layer.

A fit's profile lives in its run folder, `runs/<run-id>/profile/`:

- `steps.jsonl`: one record per epoch, `{"kind": "steps", "epoch", "step", "wall", "elapsed", "steps",
  "seconds": {"data_wait", "compile", "dispatch", "device", "callbacks", "checkpoint", "validation",
  "other"}, "memory"}`: where the epoch's `elapsed` seconds went (see `workbench.profiling.timing`);
  `wall` is when it ended (Unix time), `memory` the device's bytes in use where reported.
- `compiles.jsonl`: one record per compilation of fit's functions, `{"kind": "compile", "function",
  "wall", "seconds", "count", "cause", "epoch", "step"}` (`wall`: when it ended, Unix time).
- `trace/`: traces taken by `trace`, with `trace_summary.json`.
"""

from workbench.profiling.costs import LayerCosts, layer_costs
from workbench.profiling.memory import device_memory, train_step_memory
from workbench.profiling.timing import RecompilationWarning
from workbench.profiling.timing import set_enabled as set_step_timing
from workbench.profiling.trace import TraceSummary, read_trace, trace

__all__ = [
    "LayerCosts",
    "RecompilationWarning",
    "TraceSummary",
    "device_memory",
    "layer_costs",
    "read_trace",
    "set_step_timing",
    "train_step_memory",
    "trace",
]
