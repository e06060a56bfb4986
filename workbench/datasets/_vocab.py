"""Character vocabularies: a str whose i-th character is token i, with `encode` and `decode`."""

from __future__ import annotations

import numpy as np


def _check_vocab(caller: str, vocab: object) -> str:
    if not isinstance(vocab, str):
        raise TypeError(
            f"{caller}: vocab must be a str whose i-th character is token i (e.g. ADDITION_VOCAB), "
            f"got {type(vocab).__name__}: {vocab!r:.80}."
        )
    if not vocab or len(set(vocab)) != len(vocab):
        repeated = sorted({c for c in vocab if vocab.count(c) > 1})
        raise ValueError(
            f"{caller}: vocab must be a non-empty str without repeated characters, got {vocab!r:.80}"
            + (f" (repeats {repeated})." if repeated else ".")
        )
    return vocab


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def encode(text: str, vocab: str) -> np.ndarray:
    """The int32 token ids of the characters of `text`: `vocab.index(c)` for each character `c`.

    Example:
        >>> encode("12+3", "0123456789+ ").tolist()
        [1, 2, 10, 3]
    """
    vocab = _check_vocab("encode", vocab)
    if not isinstance(text, str):
        raise TypeError(f"encode: text must be a str, got {type(text).__name__}: {text!r:.80}.")
    codes = _codepoints(text)
    vocab_codes = _codepoints(vocab)
    order = np.argsort(vocab_codes)
    sorted_codes = vocab_codes[order]
    at = np.minimum(np.searchsorted(sorted_codes, codes), len(vocab) - 1)
    known = sorted_codes[at] == codes
    if not known.all():
        missing = "".join(sorted({chr(c) for c in codes[~known]}))
        raise ValueError(
            f"encode: text has characters that are not in the vocab: {missing!r:.80}. "
            f"The vocab is {vocab!r:.80}; build it from all the text you will encode."
        )
    return order[at].astype(np.int32)


def decode(tokens: np.ndarray, vocab: str) -> str | list[str]:
    """The text that the token ids `tokens` stand for: a str for shape (length,), a list of str for (n, length).

    Pass ids, not one-hot vectors or probabilities: for model output of shape (n, length, len(vocab)),
    decode `output.argmax(-1)`.

    Example:
        >>> decode([1, 2, 10, 3], "0123456789+ ")
        '12+3'
    """
    vocab = _check_vocab("decode", vocab)
    ids = np.asarray(tokens)
    if ids.ndim not in (1, 2) or not (ids.dtype.kind in "iu" or ids.size == 0):
        raise TypeError(
            f"decode: tokens must be integer ids of shape (length,) or (n, length), got a {ids.dtype} array "
            f"of shape {ids.shape}. For one-hot vectors or probabilities, decode `tokens.argmax(-1)`."
        )
    if ids.size and (ids.min() < 0 or ids.max() >= len(vocab)):
        raise ValueError(
            f"decode: token ids must lie in 0..{len(vocab) - 1} for a vocab of {len(vocab)} characters, "
            f"got ids from {ids.min()} to {ids.max()}."
        )
    chars = np.array(list(vocab))[ids.astype(np.intp)]
    if ids.ndim == 1:
        return "".join(chars)
    return ["".join(row) for row in chars]
