"""Writing a benchmark's generated block into benchmarks/RESULTS.md, leaving the prose around it alone."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(name: str, heading: str, text: str, path: Path = RESULTS) -> None:
    """Replace the text between `<!-- name: begin -->` and `<!-- name: end -->`; the first time, append
    `heading` and the block at the end of the file."""
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    doc = path.read_text()
    block = f"{begin}\n{text}\n{end}"
    if begin in doc and end in doc:
        doc = doc[: doc.index(begin)] + block + doc[doc.index(end) + len(end):]
    else:
        doc = doc.rstrip("\n") + f"\n\n\n{heading}\n\n{block}\n"
    path.write_text(doc)
