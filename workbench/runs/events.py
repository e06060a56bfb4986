"""TensorBoard event files of a run, laid out as Keras' TensorBoard callback lays them out.

`<run>/train` and `<run>/validation` hold the scalars (`epoch_loss`,
`epoch_accuracy`, ..., `epoch_learning_rate` and the per-step `batch_loss` in
train) and train holds the histograms (`<variable path>/histogram` for
weights, `<variable path>/gradient` for gradients). The run folder itself
holds the HParams session: its start (the hyper-parameters) and its end (the
status). No experiment summary is written, so that TensorBoard, shown a
folder of many runs, builds the HParams table from all of them, with each
run's `train/epoch_*` and `validation/epoch_*` scalars as its metrics.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

SPLIT_FOLDERS = {"train": "train", "val": "validation"}
_STATUS = {
    "finished": "STATUS_SUCCESS",
    "failed": "STATUS_FAILURE",
    "interrupted": "STATUS_UNKNOWN",
    "running": "STATUS_RUNNING",
}


def _hparam_value(value):
    """TensorBoard's HParams take strings, numbers and booleans; other values become their JSON text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, sort_keys=True)


def _plugin_content(summary):
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    return HParamsPluginData.FromString(summary.value[0].metadata.plugin_data.content)


def _with_content(summary, content):
    summary.value[0].metadata.plugin_data.content = content.SerializeToString()
    return summary


class EventWriter:
    """The TensorBoard side of a run: one tensorboardX SummaryWriter per folder, opened when first used."""

    def __init__(self, path: Path, flush_secs: int = 10):
        self.path = Path(path)
        self.flush_secs = flush_secs
        self._writers: dict[str, object] = {}

    def _writer(self, folder: str):
        writer = self._writers.get(folder)
        if writer is None:
            from tensorboardX import SummaryWriter

            writer = SummaryWriter(
                logdir=str(self.path / folder) if folder else str(self.path), flush_secs=self.flush_secs
            )
            self._writers[folder] = writer
        return writer

    def scalar(self, split: str, tag: str, value: float, step: int, wall: float | None = None) -> None:
        self._writer(SPLIT_FOLDERS[split]).add_scalar(tag, value, global_step=step, walltime=wall)

    def histogram(self, record: dict, step: int) -> None:
        suffix = "histogram" if record["source"] == "weights" else "gradient"
        self._writer("train").add_histogram_raw(
            f"{record['name']}/{suffix}",
            min=record["min"],
            max=record["max"],
            num=record["num"],
            sum=record["sum"],
            sum_squares=record["sum_squares"],
            bucket_limits=record["edges"][1:],
            bucket_counts=record["counts"],
            global_step=step,
            walltime=record["wall"],
        )

    def session_start(self, hparams: dict, group: str) -> None:
        """Start the run's HParams session with its hyper-parameters."""
        from tensorboardX.summary import hparams as hparams_summaries

        values = {k: _hparam_value(v) for k, v in hparams.items()}
        _, start, _ = hparams_summaries({k: v for k, v in values.items() if v is not None}, {})
        content = _plugin_content(start)
        content.session_start_info.group_name = group
        content.session_start_info.start_time_secs = time.time()
        self._writer("").file_writer.add_summary(_with_content(start, content))

    def session_end(self, status: str) -> None:
        """End the run's HParams session with TensorBoard's name for `status`."""
        from tensorboardX.proto.api_pb2 import Status
        from tensorboardX.summary import hparams as hparams_summaries

        _, _, end = hparams_summaries({}, {})
        content = _plugin_content(end)
        content.session_end_info.status = Status.Value(_STATUS.get(status, "STATUS_UNKNOWN"))
        content.session_end_info.end_time_secs = time.time()
        self._writer("").file_writer.add_summary(_with_content(end, content))

    def flush(self) -> None:
        for writer in self._writers.values():
            writer.flush()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
