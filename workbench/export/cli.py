"""`workbench export verify|show PATH`: recheck an artifact, or print what it takes and returns."""

from __future__ import annotations

import sys


def _load_or_report(command: str, path: str):
    from workbench.export import ArtifactError, load

    try:
        return load(path)
    except (ArtifactError, OSError) as e:
        print(f"workbench export {command}: {e}", file=sys.stderr)
        return None


def _show(args) -> int:
    art = _load_or_report("show", args.path)
    if art is None:
        return 2
    m = art.manifest
    prov = m.get("provenance") or {}
    print(f"{art.path}")
    print(f"  model      {m['model']['class']} '{m['model']['name']}', {m['weights']['parameters']:,} parameters")
    print(f"  created    {m['created']} with jax {m['versions']['jax']}, for {', '.join(m['platforms'])}")
    if prov.get("run_id"):
        print(f"  run        {prov['run_id']}")
    if prov.get("metrics"):
        print("  metrics    " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in sorted(prov["metrics"].items())))
    for name, sig in art.signatures.items():
        default = " (default)" if name == art.default_signature else ""
        print(f"  signature  {name}{default}")
        for kind, specs in (("in ", sig._specs), ("out", sig._out_specs)):
            for s in specs:
                print(f"    {kind} {s.name}: {s.dtype}[{', '.join(str(d) for d in s.shape)}]")
    for fmt, entries in (m.get("formats") or {}).items():
        print(f"  format     {fmt}: " + ", ".join(e["path"] for e in entries.values()))
    return 0


def _verify(args) -> int:
    from workbench.export import ArtifactError, verify

    try:
        report = verify(args.path)
    except (ArtifactError, OSError) as e:
        print(f"workbench export verify: FAILED: {e}", file=sys.stderr)
        return 1
    print(f"{report['path']}: {report['files']} files match their sha256")
    for name, r in report["signatures"].items():
        print(f"  {name}: {r['rows']} golden rows replayed, largest difference {r['max_abs_diff']:.3g}")
    print("OK")
    return 0


def add_export_parser(subparsers) -> None:
    """Register `workbench export verify PATH` and `workbench export show PATH`."""
    export = subparsers.add_parser("export", help="check or describe an exported artifact")
    sub = export.add_subparsers(dest="export_command")
    verify = sub.add_parser("verify", help="recheck every file's sha256 and replay the golden vectors")
    verify.add_argument("path", help="the artifact folder")
    verify.set_defaults(func=_verify)
    show = sub.add_parser("show", help="the artifact's model, provenance and signatures")
    show.add_argument("path", help="the artifact folder")
    show.set_defaults(func=_show)
    export.set_defaults(func=lambda args: (export.print_help(), 2)[1])
