"""Kernels on one device: correctness against the XLA reference, then forward and forward+backward times
and peak memory of every implementation (XLA reference, Pallas, cuDNN, "auto") over a shape sweep.

    python benchmarks/kernels.py                 # on the GPU machine: the full sweep, about 5 minutes
    python benchmarks/kernels.py --write         # and put the tables into benchmarks/RESULTS.md
    python benchmarks/kernels.py --quick         # tiny shapes: checks the script runs (Pallas interpreted on CPU)

Shapes (full sweep): attention with batch 4, 16 heads, head dim 64 and 128, sequence 1k-16k, causal and
not, bfloat16; layer and RMS norm over 4k-16k rows of 1k-8k features; fused linear + cross-entropy with
8k tokens, hidden 2048, vocabulary 32k-256k. Times are the median of repeated calls after compiling;
peak memory is XLA's own account of a compiled call (arguments, outputs and temporaries).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from results_section import write_section
from workbench.kernels import dispatch

from workbench import kernels


def _time(fn, args, repeats: int) -> float:
    jax.block_until_ready(fn(*args))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _peak_bytes(fn, args) -> int | None:
    try:
        stats = jax.jit(fn).lower(*args).compile().memory_analysis()
    except Exception:  # noqa: BLE001 - some backends do not report it
        return None
    if stats is None:
        return None
    return int(stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
               - getattr(stats, "alias_size_in_bytes", 0))


def _cases(quick: bool):
    key = jax.random.key(0)
    dtype = jnp.bfloat16
    if quick:
        attention = [(1, 2, 16, 40, causal) for causal in (False, True)]
        norms = [(24, 40)]
        xent = [(24, 16, 100)]
    else:
        attention = [(4, 16, hd, s, causal) for hd in (64, 128) for s in (1024, 4096, 16384) for causal in (False, True)]
        norms = [(rows, feats) for rows in (4096, 16384) for feats in (1024, 8192)]
        xent = [(8192, 2048, vocab) for vocab in (32768, 131072, 262144)]
    for b, h, hd, s, causal in attention:
        q, k, v = (jax.random.normal(jax.random.fold_in(key, i), (b, s, h, hd), dtype) for i in range(3))

        def fwd(q, k, v, impl, causal=causal):
            return kernels.attention(q, k, v, causal=causal, implementation=impl)

        yield "attention", f"b{b} h{h} d{hd} s{s}{' causal' if causal else ''} bf16", fwd, (q, k, v), 2e-2
    for rows, feats in norms:
        x = jax.random.normal(key, (rows, feats), dtype)
        scale = jnp.ones((feats,), dtype)
        bias = jnp.zeros((feats,), dtype)
        yield ("layer_norm", f"{rows}x{feats} bf16",
               lambda x, s, b, impl: kernels.layer_norm(x, s, b, implementation=impl), (x, scale, bias), 2e-2)
        yield ("rms_norm", f"{rows}x{feats} bf16",
               lambda x, s, impl: kernels.rms_norm(x, s, implementation=impl), (x, scale), 2e-2)
    for tokens, hidden, vocab in xent:
        hs = jax.random.normal(key, (tokens, hidden), dtype)
        w = (jax.random.normal(jax.random.fold_in(key, 1), (hidden, vocab), dtype) * hidden**-0.5).astype(dtype)
        labels = jax.random.randint(key, (tokens,), 0, vocab)

        def xent_fn(h, w, labels, impl):
            return kernels.linear_softmax_cross_entropy(h, w, labels, implementation=impl)

        yield "linear_softmax_cross_entropy", f"{tokens}x{hidden} vocab {vocab} bf16", xent_fn, (hs, w, labels), 5e-2


def _differentiable(args):
    return tuple(i for i, a in enumerate(args) if jnp.issubdtype(a.dtype, jnp.floating))


def run(quick: bool, repeats: int) -> list[dict]:
    rows = []
    here = dispatch.platform()
    for op, label, fn, args, tol in _cases(quick):
        names = ["xla"] + [n for n in dispatch.implementations(op) if n != "xla"] + ["auto"]
        reference = jax.jit(lambda *a, fn=fn: fn(*a, "xla"))(*args)
        wrt = _differentiable(args)
        for name in names:
            if name != "auto":
                impl = dispatch.implementations(op)[name]
                if name != "xla" and (here not in impl.platforms and not (name == "pallas" and here == "cpu")):
                    continue
            forward = jax.jit(lambda *a, fn=fn, name=name: fn(*a, name))

            def loss(*a, fn=fn, name=name):
                return jnp.sum(fn(*a, name).astype(jnp.float32))

            both = jax.jit(jax.grad(loss, argnums=wrt))
            try:
                out = forward(*args)
            except Exception as e:  # noqa: BLE001 - reported in the table
                rows.append({"op": op, "shape": label, "impl": name, "error": f"{type(e).__name__}: {e}"[:120]})
                continue
            err = float(jnp.max(jnp.abs(out.astype(jnp.float32) - reference.astype(jnp.float32))))
            scale = float(jnp.max(jnp.abs(reference.astype(jnp.float32)))) or 1.0
            rows.append({
                "op": op, "shape": label, "impl": name, "ok": err <= tol * scale, "max_err": err,
                "forward_ms": 1e3 * _time(forward, args, repeats),
                "both_ms": 1e3 * _time(both, args, repeats),
                "peak_mb": (_peak_bytes(jax.grad(loss, argnums=wrt), args) or 0) / 2**20,
            })
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| op | shape | implementation | correct | forward ms | fwd+bwd ms | fwd+bwd vs xla | peak MiB |",
             "|---|---|---|---|---:|---:|---:|---:|"]
    base = {(r["op"], r["shape"]): r for r in rows if r["impl"] == "xla" and "error" not in r}
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['op']} | {r['shape']} | {r['impl']} | error: {r['error']} | | | | |")
            continue
        ref = base.get((r["op"], r["shape"]))
        speedup = f"{ref['both_ms'] / r['both_ms']:.3g}x" if ref else "-"
        lines.append(f"| {r['op']} | {r['shape']} | {r['impl']} | {'yes' if r['ok'] else 'NO'} ({r['max_err']:.2g}) | "
                     f"{r['forward_ms']:.3f} | {r['both_ms']:.3f} | {speedup} | {r['peak_mb']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes: a smoke run, numbers mean nothing")
    parser.add_argument("--write", action="store_true", help="write the table into benchmarks/RESULTS.md")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    device = jax.devices()[0]
    header = (f"{device.device_kind} ({dispatch.platform()}), jax {jax.__version__}, "
              f"{time.strftime('%Y-%m-%d')}{', --quick' if args.quick else ''}")
    rows = run(args.quick, 2 if args.quick else args.repeats)
    text = f"{header}\n\n{table(rows)}"
    print(text)
    bad = [r for r in rows if r.get("ok") is False or "error" in r]
    if args.write:
        write_section("kernels", "## Kernels (`benchmarks/kernels.py`)", text)
    if bad:
        print(f"\n{len(bad)} row(s) failed their check or did not run.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    sys.exit(main())
