"""The frontend: the committed prebuilt bundle matches its sources, and its unit tests (jest) pass."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from workbench.lab import DATA_DIR, LABEXTENSION

EXTENSIONS = Path(__file__).resolve().parents[2] / "extensions"


def sources_sha256(root: Path) -> str:
    """The hash extensions/scripts/stamp.mjs writes into build-stamp.json when it builds the bundle."""
    paths = [
        p.relative_to(root).as_posix()
        for folder in ("src", "style", "schema")
        for p in (root / folder).rglob("*")
        if p.is_file() and not p.relative_to(root).as_posix().startswith("src/__tests__/")
    ]
    digest = hashlib.sha256()
    for path in sorted([*paths, "package.json"]):
        digest.update(f"{path}\0{hashlib.sha256((root / path).read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()


def test_the_committed_bundle_was_built_from_these_sources():
    stamp = json.loads((DATA_DIR / "labextensions" / LABEXTENSION / "build-stamp.json").read_text())
    assert stamp["sources_sha256"] == sources_sha256(EXTENSIONS), (
        "The prebuilt extension in workbench/lab/data/ is older than extensions/: rebuild it with "
        "`cd extensions && npm ci && PATH=../.venv/bin:$PATH npm run build:prod` and commit the result."
    )


def test_the_stamp_changes_with_any_source(tmp_path):
    copy = tmp_path / "extensions"
    shutil.copytree(EXTENSIONS, copy, ignore=shutil.ignore_patterns("node_modules", "lib"))
    before = sources_sha256(copy)
    style = next((copy / "style").glob("*.css"))
    style.write_text(style.read_text() + "\n/* changed */\n")
    assert sources_sha256(copy) != before


def test_the_unit_tests_of_the_frontend_logic_pass():
    npm = shutil.which("npm")
    assert npm, "The frontend's unit tests need Node.js and npm (Debian: apt-get install nodejs npm)."
    env = {**os.environ, "CI": "true"}
    if not (EXTENSIONS / "node_modules" / ".bin" / "jest").exists():
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=EXTENSIONS,
                                   env=env, capture_output=True, text=True, timeout=900)
        assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    ran = subprocess.run([npm, "test", "--silent"], cwd=EXTENSIONS, env=env, capture_output=True, text=True,
                         timeout=600)
    report = ran.stdout + ran.stderr
    assert ran.returncode == 0, report[-5000:]
    assert "Tests:" in report and " failed" not in report.split("Tests:")[1].splitlines()[0], report[-3000:]

