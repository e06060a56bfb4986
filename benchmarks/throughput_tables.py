"""The Markdown that `train_throughput.py` prints and writes into benchmarks/RESULTS.md.

`rows` maps a model name to its measurements: `steps_per_s` ({contender: steps/s}),
`cold` ({contender: a fresh process's record, see `train_throughput.child`}) and
`cache` (workbench's `cold` and `warm` records on one cache folder, and its `entries`).
"""

from __future__ import annotations

import re
from pathlib import Path

from contenders import steps_for

LABELS = ("workbench", "hand", "keras", "nnx")
TITLES = {"workbench": "workbench", "hand": "hand loop", "keras": "Keras 3", "nnx": "Flax NNX"}
BEGIN, END = "<!-- train_throughput: begin -->", "<!-- train_throughput: end -->"


def number(v: float) -> str:
    """Steps/s to print: whole numbers from 100 up, one decimal below."""
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def _all(row: dict, key: str, fmt: str) -> str:
    return " / ".join(fmt.format(row["cold"][label][key]) for label in LABELS)


def tables(rows: dict) -> str:
    names = " / ".join(TITLES[label] for label in LABELS)
    out = [
        f"| model | {' | '.join(TITLES[label] + ' steps/s' for label in LABELS)} | vs hand | vs Keras | vs NNX "
        f"| first step, s ({names}) | peak RSS, MiB ({names}) |",
        "|---" * 10 + "|",
    ]
    for name, row in rows.items():
        s = row["steps_per_s"]
        out.append(
            f"| {name} | {' | '.join(number(s[label]) for label in LABELS)} "
            f"| {s['workbench'] / s['hand']:.3g}x | {s['workbench'] / s['keras']:.3g}x "
            f"| {s['workbench'] / s['nnx']:.3g}x | {_all(row, 'first_step_s', '{:.2f}')} "
            f"| {_all(row, 'peak_rss_mib', '{:.0f}')} |"
        )
    out += [
        "",
        f"| model | first step with imports, s ({names}) | imports, s ({names}) "
        f"| device peak, MiB ({names}) |",
        "|---|---|---|---|",
    ]
    for name, row in rows.items():
        device = " / ".join(
            "n/a"
            if row["cold"][label]["device_peak_bytes"] is None
            else f"{row['cold'][label]['device_peak_bytes'] / 2**20:.0f}"
            for label in LABELS
        )
        out.append(
            f"| {name} | {_all(row, 'first_step_with_imports_s', '{:.2f}')} "
            f"| {_all(row, 'import_s', '{:.2f}')} | {device} |"
        )
    out += [
        "",
        "| model (workbench) | no cache | cache, cold (filling) | cache, warm | warm / cold "
        "| with imports: no cache / cold / warm | warm / cold with imports |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        off, c = row["cold"]["workbench"], row["cache"]
        cold, warm = c["cold"], c["warm"]
        out.append(
            f"| {name} | {off['first_step_s']:.2f}s | {cold['first_step_s']:.2f}s | {warm['first_step_s']:.2f}s "
            f"| {warm['first_step_s'] / cold['first_step_s']:.2f} "
            f"| {off['first_step_with_imports_s']:.2f}s / {cold['first_step_with_imports_s']:.2f}s / "
            f"{warm['first_step_with_imports_s']:.2f}s "
            f"| {warm['first_step_with_imports_s'] / cold['first_step_with_imports_s']:.2f} |"
        )
    out += ["", "| target | measured | met |", "|---|---|---|"]
    for line in targets(rows):
        out.append(line)
    return "\n".join(out)


# (model prefix, peer, minimum ratio of workbench's steps/s to the peer's), from the training-engine issue
SPEED_TARGETS = [
    ("small", "hand", 1.0),
    ("small", "keras", 2.0),
    ("large", "hand", 0.95),
    ("large", "keras", 1.0),
]


def targets(rows: dict) -> list[str]:
    """The issue's targets as table rows: target, measured, met."""
    out = []
    for prefix, peer, minimum in SPEED_TARGETS:
        for name, row in rows.items():
            if name.startswith(prefix):
                ratio = row["steps_per_s"]["workbench"] / row["steps_per_s"][peer]
                met = "yes" if ratio >= minimum else "no"
                out.append(f"| {prefix} MLP >= {minimum:g}x {TITLES[peer]} | {ratio:.2f}x | {met} |")
    for name, row in rows.items():
        wb, ks = row["cold"]["workbench"]["first_step_s"], row["cold"]["keras"]["first_step_s"]
        out.append(
            f"| {name}: first step no worse than Keras 3 | {wb:.2f}s vs {ks:.2f}s | "
            f"{'yes' if wb <= ks else 'no'} |"
        )
    for name, row in rows.items():
        ratio = row["cache"]["warm"]["first_step_s"] / row["cache"]["cold"]["first_step_s"]
        out.append(
            f"| {name}: warm-cache first step <= 30% of cold | {ratio:.0%} | "
            f"{'yes' if ratio <= 0.30 else 'no'} |"
        )
    return out


def describe(args, meta: dict) -> str:
    """The paragraph above the tables: how they were measured, on what, and how busy the machine was."""
    versions = (
        f"{meta['date']}, {meta['machine']}, jax {meta['jax']}, Keras {meta['keras']} (JAX backend), "
        f"Flax {meta['flax']}, optax {meta['optax']}; load average before / after "
        f"{meta['load'][0]:.1f} / {meta['load'][1]:.1f}."
    )
    if args.quick:
        return (
            "**A `--quick` smoke run: these numbers measure nothing** (models share a process per "
            f"contender, processes run side by side, steps/s is one {args.mem_steps}-step pass). " + versions
        )
    return (
        f"`python benchmarks/train_throughput.py --steps {args.steps} --repeats {args.repeats} "
        f"--mem-steps {args.mem_steps}`, {versions} "
        f"Steady steps/s is the best of {args.repeats} one-epoch runs ({args.steps} steps; "
        f"{steps_for('convnet', args.steps)} for the convnet) after a warm-up epoch, all contenders in one "
        "process, their runs interleaved. workbench and Keras call `fit`; the hand loop is `jax.jit` of one "
        "optax Adam step over workbench's pure model, one dispatch per step; Flax NNX is the same architecture "
        'with an `@nnx.jit` step and `nnx.Optimizer`. "First step" is build + compile + one step of a fresh '
        "model in a fresh process without a persistent compilation cache (imports excluded; included in the "
        f"second table). Peak RSS is that process's high-water mark after {args.mem_steps} more steps "
        f"({steps_for('convnet', args.mem_steps)} for the convnet)."
    )


def write_results(path: Path, text: str) -> None:
    """Replace the generated part of the "Training throughput" section, keeping the prose around it.

    The generated part sits between two HTML comments. The first time, it takes
    the place of the section's opening paragraph and its first table.
    """
    doc = path.read_text()
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + block + doc[doc.index(END) + len(END) :]
    else:
        match = re.search(r"^## Training throughput.*\n\n", doc, re.MULTILINE)
        if match is None:
            raise ValueError(f"{path} has no '## Training throughput' heading to write under.")
        # the opening paragraph, a blank line, then the first table
        old = re.compile(r"(?:[^\n|#][^\n]*\n)+\n(?:\|[^\n]*\n)+").match(doc, match.end())
        end = old.end() if old else match.end()
        doc = doc[: match.end()] + block + "\n" + doc[end:]
    path.write_text(doc)
