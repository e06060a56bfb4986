"""Run folders: every fit written under `runs/<run-id>/`, and read back.

A run folder holds:

- `run.json`: id, name, status ("running", "finished", "failed", "interrupted"),
  created/ended (UTC, ISO 8601), the model (class, name, JSON config or null),
  the compile config, hyper-parameters, environment (versions, platform,
  devices, git commit and dirty flag), the data fingerprint, and a summary
  (epochs, steps, the last epoch's train and val values). Replaced atomically.
- `metrics.jsonl`: one record per line, appended and flushed as written:
  `{"kind": "batch"|"epoch", "step", "epoch", "wall", "split": "train"|"val", "values": {...}}`.
  `step` counts the steps done when the values were measured and `epoch` is
  0-based. A "batch" record holds one step's `batch_loss`; the record of an
  epoch's last step, and of the last step of a dispatch at most every half
  second, also holds the epoch-to-date means of the batch logs (`loss`,
  `accuracy`, ...). An "epoch" record holds the epoch's logs
  (train: with `learning_rate`; val: without the `val_` prefix). A value that
  is not finite is written as "NaN", "Infinity" or "-Infinity".
- `histograms.jsonl`: `{"kind": "histogram", "step", "epoch", "wall", "source":
  "weights"|"gradients", "name": variable path, "edges": [31], "counts": [30],
  "min", "max", "num", "sum", "sum_squares"}`.
- TensorBoard event files in `train/` and `validation/` (Keras' layout and tags)
  and the HParams session in the run folder itself.
- `checkpoints/`: the train state at the end of the last two epochs.

`RunLogger.listeners` get the records of both files as they are written, plus
`{"kind": "run", "run_json": {...}}` at the start and `{"kind": "status",
"status", "wall", "step", "epoch"[, "error"]}` on every status change.

>>> import workbench as wb
>>> from workbench import runs
>>> model.fit(x, y, epochs=3, callbacks=[runs.RunLogger(run_name="baseline")])  # doctest: +SKIP
>>> [r.id for r in runs.list_runs()]                                             # doctest: +SKIP
>>> runs.load_run(runs.list_runs()[-1].id).metrics("val")["loss"]                # doctest: +SKIP
"""

from workbench.runs.fingerprint import fingerprint
from workbench.runs.location import runs_dir, set_runs_dir
from workbench.runs.reader import MetricColumns, Run, RunError, RunInfo, compare, list_runs, load_run
from workbench.runs.writer import RunLogger

__all__ = [
    "MetricColumns",
    "Run",
    "RunError",
    "RunInfo",
    "RunLogger",
    "compare",
    "fingerprint",
    "list_runs",
    "load_run",
    "runs_dir",
    "set_runs_dir",
]
