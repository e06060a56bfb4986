"""TensorFlow SavedModel bridge: one signature as a SavedModel (via jax2tf), checked by loading it with TensorFlow.

The SavedModel is a `tf.Module` whose weights are `tf.Variable`s and whose
`serving_default` signature (also registered under the signature's own name)
takes the signature's inputs by name and returns a dict keyed by output name,
the layout `tf.saved_model.load` and TF Serving expect. Symbolic dimensions
("batch") are `None` in the TensorSpecs and polymorphic in the program.

TensorFlow runs in a child Python process, for both the conversion and the
check: importing it takes 4.5-7 s and hundreds of MB that would stay in the
caller's process, it brings its own copies of XLA, absl and protobuf next to
jaxlib's, and on a GPU machine it competes with JAX for device memory. The
child is started on first use and kept for later calls (each then takes
well under a second); `close()` ends it, and it ends with the caller. The
parent serialises `fn` with `jax.export` (a closure cannot cross processes)
and hands the program bytes, the weights (safetensors) and the signature
(JSON) to the child through a temporary folder; the child wraps
`Exported.call` with `jax2tf.convert` (native serialization) and saves. The
child runs on the CPU, so `platforms` must include "cpu".

Needs the tf extra: pip install "jax-workbench[tf]".
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable

import numpy as np

from workbench.export import bridge_contract as contract
from workbench.export.bridge_contract import BridgeCheckError, BridgeConversionError

__all__ = ["BridgeCheckError", "BridgeConversionError", "check", "close", "write"]

PLATFORMS = ("cpu", "cuda")
_PROGRAM, _WEIGHTS, _REQUEST = "program.jaxexport", "weights.safetensors", "request.json"
_INPUTS, _OUTPUTS, _RESULT, _ERROR = "inputs.safetensors", "outputs.safetensors", "result.json", "error.json"
_SAVED_MODEL_PARTS = {"saved_model.pb", "fingerprint.pb", "variables", "assets"}


def _require_tensorflow() -> None:
    # Only the child imports TensorFlow; the parent just needs to know the child can.
    if importlib.util.find_spec("tensorflow") is None:
        raise ImportError(
            "The SavedModel format needs the 'tensorflow' package, which is not installed. "
            'Install it with: pip install "jax-workbench[tf]"'
        )


def write(
    fn: Callable,
    weights: list[np.ndarray],
    signature: dict,
    out_dir: pathlib.Path,
    *,
    batch="dynamic",
    platforms: tuple[str, ...] = PLATFORMS,
) -> list[str]:
    """Convert `fn(weights, *inputs)` to a SavedModel in `out_dir`; return its files, relative to `out_dir`.

    `platforms` are the XLA platforms the SavedModel's program is lowered for.
    """
    _require_tensorflow()
    import jax
    import jax.numpy as jnp

    name = contract.signature_name(signature)
    platforms = tuple(platforms)
    if "cpu" not in platforms:
        raise ValueError(
            f"platforms must include 'cpu' (the check runs TensorFlow on the CPU); got {platforms}."
        )
    weights = [jnp.asarray(w) for w in weights]
    contract.check_outputs_match(fn, weights, signature, batch)
    specs = contract.symbolic_specs(contract.tensors(signature, "inputs"), batch)
    weight_specs = [jax.ShapeDtypeStruct(w.shape, w.dtype) for w in weights]
    try:
        exported = jax.export.export(jax.jit(fn), platforms=platforms)(weight_specs, *specs)
    except Exception as err:  # noqa: BLE001 - reported with the signature's name
        raise BridgeConversionError(
            f"jax.export could not export signature '{name}' for {platforms}: {type(err).__name__}: {err}"
        ) from err

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="workbench-tf-") as tmp:
        work = pathlib.Path(tmp)
        (work / _PROGRAM).write_bytes(exported.serialize())
        _save_arrays(work / _WEIGHTS, {_weight_key(i): w for i, w in enumerate(weights)})
        request = {
            "signature": signature,
            "batch": batch,
            "platforms": list(platforms),
            "out_dir": str(out_dir.resolve()),
            "weights": len(weights),
        }
        (work / _REQUEST).write_text(json.dumps(request, default=int))
        _run_child("convert", work, BridgeConversionError, f"jax2tf could not convert signature '{name}'")
    written = (p.relative_to(out_dir) for p in out_dir.rglob("*") if p.is_file())
    return sorted(p.as_posix() for p in written if p.parts[0] in _SAVED_MODEL_PARTS)


def check(
    out_dir: pathlib.Path,
    signature: dict,
    inputs: dict[str, np.ndarray],
    expected: dict[str, np.ndarray],
    *,
    rtol: float = 1e-5,
    atol: float = 1e-5,
) -> dict:
    """Load the SavedModel in `out_dir` with TensorFlow, call `serving_default` on `inputs`, compare with `expected`.

    Returns {"runtime", "max_abs_diff", "outputs": [{"name", "shape", "max_abs_diff"}],
    "inputs": [{"name", "shape"}] as the SavedModel declares them, "signatures" (their keys),
    "variables" (how many tf.Variables serving_default reads), "rtol", "atol"}; raises
    BridgeCheckError when an output differs or TensorFlow refuses the inputs.
    """
    _require_tensorflow()
    name = contract.signature_name(signature)
    out_dir = pathlib.Path(out_dir)
    if not (out_dir / "saved_model.pb").is_file():
        raise FileNotFoundError(f"No SavedModel for signature '{name}' in {out_dir}; write() it first.")
    feeds = contract.as_inputs(signature, inputs)
    with tempfile.TemporaryDirectory(prefix="workbench-tf-") as tmp:
        work = pathlib.Path(tmp)
        _save_arrays(work / _INPUTS, feeds)
        request = {"signature": signature, "out_dir": str(out_dir.resolve())}
        (work / _REQUEST).write_text(json.dumps(request, default=int))
        _run_child("check", work, BridgeCheckError, f"TensorFlow could not run signature '{name}'")
        result = json.loads((work / _RESULT).read_text())
        got = _load_arrays(work / _OUTPUTS)
    report = contract.compare(signature, got, expected, rtol=rtol, atol=atol, runtime=result["runtime"])
    report.update({k: result[k] for k in ("inputs", "signatures", "variables")})
    return report


def _weight_key(i: int) -> str:
    return f"weight_{i:05d}"


def _save_arrays(path: pathlib.Path, arrays: dict) -> None:
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(np.asarray(v)) for k, v in arrays.items()}, str(path))


def _load_arrays(path: pathlib.Path) -> dict:
    from safetensors.numpy import load_file

    return load_file(str(path))


class _TensorFlowProcess:
    """A child Python with TensorFlow imported, kept for later calls: the import is the slow part.

    The parent sends one JSON line per task ({"task", "work"}) on the child's
    stdin and waits for one line back; the data travels as files in `work`.
    The child ends when the parent closes its stdin (`close()`, or at exit).
    """

    def __init__(self):
        self._proc: subprocess.Popen | None = None
        self._log = None
        self._lock = threading.Lock()

    def run(self, task: str, work: pathlib.Path) -> None:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            try:
                self._proc.stdin.write(json.dumps({"task": task, "work": str(work)}) + "\n")
                self._proc.stdin.flush()
                reply = self._proc.stdout.readline()
            except (BrokenPipeError, OSError):
                reply = ""
            if not reply:  # the child died: a crash in TensorFlow, or it could not import it
                returncode, log = self._proc.wait(), self._log_tail()
                self.close()
                raise RuntimeError(
                    f"The TensorFlow process ended with status {returncode} during '{task}':\n{log}"
                )

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.stdin.close()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _start(self) -> None:
        self.close()
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["JAX_PLATFORMS"] = "cpu"  # the child only lowers programs and checks on the CPU
        env["CUDA_VISIBLE_DEVICES"] = ""  # so that it never takes GPU memory from the caller
        package_root = str(pathlib.Path(__file__).resolve().parents[2])  # the folder holding `workbench`
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self._log = tempfile.TemporaryFile(mode="w+", prefix="workbench-tf-", suffix=".log")
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from workbench.export.tf_bridge import _child_main; _child_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            text=True,
            cwd=tempfile.gettempdir(),
        )

    def _log_tail(self, lines: int = 20) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return "\n".join(self._log.read().strip().splitlines()[-lines:])


_PROCESS = _TensorFlowProcess()
atexit.register(_PROCESS.close)


def close() -> None:
    """End the TensorFlow child process, if one is running; the next write() or check() starts another."""
    _PROCESS.close()


def _run_child(task: str, work: pathlib.Path, error: type[Exception], what: str) -> None:
    """Run `task` on the files in `work` in the TensorFlow process; turn its failure into `error`."""
    _PROCESS.run(task, work)
    if (work / _ERROR).is_file():
        raise error(f"{what}: {json.loads((work / _ERROR).read_text())['message']}")


def _child_main() -> None:
    """The child's loop: one task per line on stdin, one line back when its files are written."""
    reply = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stray prints (TensorFlow's included) go to the log, not into the replies
    sys.stdout = sys.stderr
    import tensorflow  # noqa: F401 - imported once, before the first task

    while line := sys.stdin.readline():
        request = json.loads(line)
        work = pathlib.Path(request["work"])
        try:
            task = {"convert": _child_convert, "check": _child_check}[request["task"]]
            task(work, json.loads((work / _REQUEST).read_text()))
        except Exception as err:  # noqa: BLE001 - the parent re-raises it with its own error type
            traceback.print_exc()
            (work / _ERROR).write_text(json.dumps({"message": _explain(err)}))
        reply.write("done\n")
        reply.flush()


def _explain(err: Exception) -> str:
    """The child's error as text, with what to do when TensorFlow is too old for the jax that wrote the program."""
    message = f"{type(err).__name__}: {err}"
    if "deserialize portable artifact" in message:
        import jax
        import tensorflow as tf

        message = (
            f"TensorFlow {tf.__version__} cannot read the StableHLO that jax {jax.__version__} wrote (jax "
            "serialises for runtimes at most about a month older than itself). Install a TensorFlow released "
            "after this jax, or export with an older jax (tensorflow 2.21 reads jax 0.10 programs).\n"
            + message
        )
    return message


def _child_convert(work: pathlib.Path, request: dict) -> None:
    import jax
    import tensorflow as tf
    from jax.experimental import jax2tf

    signature, batch = request["signature"], request["batch"]
    inputs, outputs = contract.tensors(signature, "inputs"), contract.tensors(signature, "outputs")
    exported = jax.export.deserialize(bytearray((work / _PROGRAM).read_bytes()))
    arrays = _load_arrays(work / _WEIGHTS)
    shapes = [contract.resolved_shape(e, batch) for e in inputs]
    polymorphic = [None] + [
        "(" + ", ".join(str(d) for d in shape) + ")" if any(isinstance(d, str) for d in shape) else None
        for shape in shapes
    ]
    call = jax2tf.convert(
        lambda weights, *xs: exported.call(weights, *xs),
        polymorphic_shapes=polymorphic,
        native_serialization_platforms=tuple(request["platforms"]),
        with_gradient=False,  # a serving signature; gradients would need a VJP of the program
    )

    module = tf.Module()
    module.weights = [
        tf.Variable(arrays[_weight_key(i)], trainable=False, name=_weight_key(i))
        for i in range(request["weights"])
    ]
    specs = [
        tf.TensorSpec(
            [d if isinstance(d, int) else None for d in shape], tf.as_dtype(e["dtype"]), name=e["name"]
        )
        for e, shape in zip(inputs, shapes)
    ]

    @tf.function(input_signature=specs, autograph=False)
    def serve(*xs):
        results = call(list(module.weights), *xs)
        return {o["name"]: y for o, y in zip(outputs, results)}

    module.serve = serve
    name = contract.signature_name(signature)
    signatures = {"serving_default": serve.get_concrete_function()}
    signatures[name] = signatures["serving_default"]
    tf.saved_model.save(module, request["out_dir"], signatures=signatures)


def _child_check(work: pathlib.Path, request: dict) -> None:
    import tensorflow as tf

    loaded = tf.saved_model.load(request["out_dir"])
    if "serving_default" not in loaded.signatures:
        raise KeyError(
            f"The SavedModel has no 'serving_default' signature; it has {sorted(loaded.signatures)}."
        )
    serving = loaded.signatures["serving_default"]
    declared = serving.structured_input_signature[1]
    feeds = {k: tf.constant(v) for k, v in _load_arrays(work / _INPUTS).items()}
    for key, spec in declared.items():
        if key in feeds and not spec.is_compatible_with(feeds[key]):
            raise ValueError(
                f"input '{key}' is {feeds[key].dtype.name}{feeds[key].shape.as_list()}; the SavedModel's "
                f"serving_default takes {spec.dtype.name}{spec.shape.as_list()}."
            )
    results = serving(**feeds)
    _save_arrays(work / _OUTPUTS, {k: v.numpy() for k, v in results.items()})
    (work / _RESULT).write_text(
        json.dumps(
            {
                "runtime": f"tensorflow {tf.__version__}",
                # TensorFlow keeps the signature's inputs in a dict of its own order: report them sorted.
                "inputs": [{"name": k, "shape": declared[k].shape.as_list()} for k in sorted(declared)],
                "signatures": sorted(loaded.signatures),
                "variables": len(serving.variables),
            }
        )
    )
