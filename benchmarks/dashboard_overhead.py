"""What the run log and the live dashboard cost the trainer: steady-state steps/s with both on vs off.

The training runs where it runs for users, in an IPython kernel; this script
plays the notebook front end over jupyter_client: it receives every widget
message the dashboard sends and acknowledges each delta as the browser does,
so the dashboard sends at the rate it would with a live page. Both settings
train the same compiled model on the same data in interleaved rounds.

    python benchmarks/dashboard_overhead.py            # about two minutes on 2 cores
    python benchmarks/dashboard_overhead.py --quick    # smoke test, meaningless numbers
    python benchmarks/dashboard_overhead.py --write    # also rewrite its section of RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import jax
from results_section import write_section

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADING = "## Dashboard and run-log overhead (`benchmarks/dashboard_overhead.py`)"
TARGET = 0.03

SETUP = """
import json, time, numpy as np, workbench as wb
rng = np.random.default_rng(0)
x = rng.normal(size=({n}, 64)).astype("float32"); y = rng.integers(0, 10, {n}).astype("int32")
wb.utils.set_random_seed(0)
model = wb.Sequential([wb.layers.Input((64,)), wb.layers.Dense({width}, activation="relu"),
                       wb.layers.Dense({width}, activation="relu"), wb.layers.Dense(10)], name="bench")
model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
class EpochClock(wb.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.ends = [time.perf_counter()]
    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())
def timed(**kw):
    clock = EpochClock()
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=32, epochs={epochs}, verbose=1, callbacks=[clock], **kw)
    total = time.perf_counter() - t0
    # steady state: from the end of the first epoch to the end of the last (no set-up, no final save)
    return [clock.ends[-1] - clock.ends[1], total]
for kw in ({{"log": False, "dashboard": False}}, {{"log": True, "dashboard": True}}):
    timed(**kw)  # compile, choose the steps per dispatch, start the widget libraries
print("ready", flush=True)
"""

ROUND = """
print("result", json.dumps({{"off": timed(log=False, dashboard=False), "on": timed(log=True, dashboard=True)}}
                           if {order} == 0 else
                           {{"on": timed(log=True, dashboard=True), "off": timed(log=False, dashboard=False)}}),
      flush=True)
"""


class Frontend:
    """A kernel, and the part of a notebook page that the dashboard talks to: acks for its deltas."""

    def __init__(self, runs_dir: str):
        import jupyter_client

        env = {**os.environ, "WORKBENCH_RUNS_DIR": runs_dir,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        self.km, self.kc = jupyter_client.manager.start_new_kernel(kernel_name="python3", env=env)
        self.messages = {"comm_open": 0, "comm_msg": 0, "bytes": 0}

    def run(self, code: str, timeout: float = 900.0) -> str:
        msg_id = self.kc.execute(code)
        out, deadline = [], time.time() + timeout
        while time.time() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=1.0)
            except Exception:
                continue
            kind = msg["msg_type"]
            if kind in self.messages:
                self.messages[kind] += 1
                self.messages["bytes"] += sum(len(b) for b in msg.get("buffers", []))
            if kind == "comm_msg":
                data = msg["content"]["data"]
                content = data.get("content") or {}
                if data.get("method") == "custom" and content.get("type") == "delta":
                    ack = {"method": "custom", "content": {"type": "ack", "seq": content["seq"]}}
                    self.kc.shell_channel.send(self.kc.session.msg(
                        "comm_msg", {"comm_id": msg["content"]["comm_id"], "data": ack}))
            elif kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                raise RuntimeError("\n".join(msg["content"]["traceback"]))
            elif (kind == "status" and msg["content"]["execution_state"] == "idle"
                  and msg["parent_header"].get("msg_id") == msg_id):
                return "".join(out)
        raise TimeoutError(f"the kernel did not finish within {timeout} s")

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def measure(rounds: int, n: int, width: int, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as runs_dir:
        front = Frontend(runs_dir)
        try:
            front.run(SETUP.format(n=n, width=width, epochs=epochs))
            times = {"on": [], "off": []}
            for r in range(rounds):
                out = front.run(ROUND.format(order=r % 2))
                result = json.loads(out.split("result", 1)[1].strip().splitlines()[0])
                for k, v in result.items():
                    times[k].append(v)
        finally:
            front.close()
    per_epoch = -(-n // 32)
    steady_steps = (epochs - 1) * per_epoch
    # The fastest round of each: on a shared machine noise only ever adds time, and both settings get
    # the same number of rounds in alternating order (the medians are reported too).
    off = min(t[0] for t in times["off"])
    on = min(t[0] for t in times["on"])
    off_median = statistics.median(t[0] for t in times["off"])
    on_median = statistics.median(t[0] for t in times["on"])
    fixed_off = statistics.median(t[1] - t[0] * epochs / (epochs - 1) for t in times["off"])
    fixed_on = statistics.median(t[1] - t[0] * epochs / (epochs - 1) for t in times["on"])
    return {"steps": steady_steps, "off_s": off, "on_s": on, "off_sps": steady_steps / off,
            "on_sps": steady_steps / on, "overhead": on / off - 1.0, "times": times,
            "fixed": fixed_on - fixed_off, "messages": front.messages,
            "median_overhead": on_median / off_median - 1.0}


def table(r: dict, width: int) -> str:
    return "\n".join([
        "| setting | steady-state seconds (fastest round) | steps/s | vs off |",
        "|---|---|---|---|",
        f"| run log and dashboard off | {r['off_s']:.3f} | {r['off_sps']:.0f} | 1.000 |",
        f"| run log (TensorBoard events, metrics.jsonl) and dashboard on | {r['on_s']:.3f} | {r['on_sps']:.0f} | "
        f"{r['on_s'] / r['off_s']:.3f} |",
        "",
        f"Steady-state overhead: {100 * r['overhead']:+.1f}% (target <= {100 * TARGET:.0f}%): "
        f"{'met' if r['overhead'] <= TARGET else 'not met'} (medians: {100 * r['median_overhead']:+.1f}%). "
        f"MLP 64-{width}-{width}-10, batch 32, "
        f"{r['steps']} steps timed per fit (all epochs after the first). Besides, each logged fit costs about "
        f"{r['fixed']:.2f} s once (creating the run folder and the dashboard, the final checkpoint). The "
        f"dashboard sent {r['messages']['comm_msg']} messages ({r['messages']['bytes'] / 1e6:.1f} MB of "
        "buffers) over all rounds.",
    ])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved on/off fits")
    parser.add_argument("--examples", type=int, default=16384, help="training examples (steps per epoch: / 32)")
    parser.add_argument("--width", type=int, default=256, help="the MLP's hidden width")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per fit (the first is not timed)")
    parser.add_argument("--quick", action="store_true", help="a tiny run: a smoke test, not a measurement")
    parser.add_argument("--write", action="store_true", help="rewrite this benchmark's section of RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick and args.write:
        parser.error("--write with --quick would record numbers that measure nothing.")
    if args.quick:
        args.rounds, args.examples, args.width, args.epochs = 1, 512, 32, 2
    load = os.getloadavg()[0]
    result = measure(args.rounds, args.examples, args.width, args.epochs)
    flags = f"--rounds {args.rounds} --examples {args.examples} --width {args.width} --epochs {args.epochs}"
    text = (
        f"`python benchmarks/dashboard_overhead.py {flags}`, {datetime.date.today().isoformat()}, "
        f"{platform.machine()} host, os.cpu_count() = {os.cpu_count()}, jax {jax.__version__} on "
        f"{jax.devices()[0].platform}, Python {platform.python_version()}; load average before "
        f"{load:.1f}. Training runs in an IPython kernel; the benchmark acknowledges the dashboard's "
        "deltas as a browser does. Each round fits once with both off and once with both on, order "
        "alternating.\n\n" + table(result, args.width)
    )
    print(text)
    print("per-round seconds:", json.dumps(result["times"]))
    if args.write:
        write_section("dashboard_overhead", HEADING, text)
        print(f"wrote {RESULTS}")
    sys.exit(0)


if __name__ == "__main__":
    main()
