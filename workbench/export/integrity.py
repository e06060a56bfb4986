"""The artifact's tamper check: a sha256 and size for every file, and one for the manifest itself.

`manifest.json` lists every other file with its size and sha256;
`manifest.sha256` holds the manifest's own digest in `sha256sum` format, so
`sha256sum -c manifest.sha256` works in a shell too. `read_manifest` checks
all of it before anything in the artifact is parsed further or run.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

FORMAT = "workbench.artifact/1"
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"


class ArtifactError(ValueError):
    """An artifact that is incomplete, tampered with, or of a format this version cannot read."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def list_files(root: Path) -> list[str]:
    """Every regular file under `root` except the manifest pair, as sorted POSIX paths relative to root."""
    out = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if rel not in (MANIFEST, MANIFEST_SUM):
                out.append(rel)
    return sorted(out)


def file_table(root: Path) -> dict:
    return {rel: {"bytes": (root / rel).stat().st_size, "sha256": sha256_file(root / rel)} for rel in list_files(root)}


def write_manifest(root: Path, manifest: dict) -> None:
    data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    (root / MANIFEST).write_bytes(data)
    (root / MANIFEST_SUM).write_text(f"{hashlib.sha256(data).hexdigest()}  {MANIFEST}\n")


def read_manifest(root: Path) -> dict:
    """The verified manifest of the artifact at `root`; raises ArtifactError naming the first bad file."""
    root = Path(root)
    if not root.is_dir():
        raise ArtifactError(f"{root} is not an artifact folder (expected a directory holding {MANIFEST}).")
    for name in (MANIFEST, MANIFEST_SUM):
        if not (root / name).is_file():
            raise ArtifactError(f"{root} is not a complete artifact: {name} is missing.")
    data = (root / MANIFEST).read_bytes()
    line = (root / MANIFEST_SUM).read_text(errors="replace").split()
    if len(line) != 2 or line[1] != MANIFEST or len(line[0]) != 64:
        raise ArtifactError(
            f"{root / MANIFEST_SUM} is damaged: expected '<64 hex digits>  {MANIFEST}', "
            f"found {' '.join(line)[:100]!r}."
        )
    actual = hashlib.sha256(data).hexdigest()
    if actual != line[0]:
        raise ArtifactError(
            f"{root / MANIFEST} was changed after export: its sha256 is {actual}, "
            f"{MANIFEST_SUM} expects {line[0]}. Refusing to load."
        )
    try:
        manifest = json.loads(data)
    except ValueError as e:
        raise ArtifactError(f"{root / MANIFEST} is not valid JSON ({e}).") from None
    fmt = manifest.get("format") if isinstance(manifest, dict) else None
    if fmt != FORMAT:
        if str(fmt).rpartition("/")[0] == FORMAT.rpartition("/")[0]:
            raise ArtifactError(
                f"{root} is a {fmt} artifact; this version of workbench reads {FORMAT}. Upgrade workbench to load it."
            )
        raise ArtifactError(f"{root / MANIFEST} is not a workbench artifact manifest: expected format {FORMAT!r}, "
                            f"found {fmt!r}.")
    check_files(root, manifest["files"])
    return manifest


def check_files(root: Path, table: dict) -> None:
    for rel, entry in sorted(table.items()):
        path = root / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise ArtifactError(f"{root / MANIFEST} lists a file outside the artifact: {rel!r}.")
        if not path.is_file():
            raise ArtifactError(f"{path} is missing: the manifest lists it ({entry['bytes']} bytes).")
        size = path.stat().st_size
        if size != entry["bytes"]:
            raise ArtifactError(
                f"{path} is {size} bytes; the manifest expects {entry['bytes']} "
                f"({'truncated' if size < entry['bytes'] else 'grown'} after export). Refusing to load."
            )
        digest = sha256_file(path)
        if digest != entry["sha256"]:
            raise ArtifactError(
                f"{path} failed its checksum: sha256 {digest}, the manifest expects {entry['sha256']}. "
                "The file was changed after export. Refusing to load."
            )
