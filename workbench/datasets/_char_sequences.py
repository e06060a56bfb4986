"""Training pairs for a character-level language model: windows of text and the characters after them."""

from __future__ import annotations

import numpy as np

from workbench.datasets._checks import check_int
from workbench.datasets._vocab import encode


def char_sequences(text: str, seq_len: int, step: int = 1) -> tuple[np.ndarray, np.ndarray, str]:
    """Cut `text` into windows of `seq_len` characters, each paired with the same window moved on by one.

    Returns `(x, y, vocab)`. `vocab` is the str of the distinct characters of `text`, sorted; token i is
    `vocab[i]`. x and y are int32 arrays of shape (n, seq_len): window i starts at character `i * step`,
    and `y[i, t]` is the character that follows `x[i, t]`, so a model that reads x predicts y at every
    position. `y[:, -1]` alone is the next character after each window, the target of a model that
    predicts once per window. `decode(x[0], vocab)` turns ids back into text and `encode(prompt, vocab)`
    turns a prompt into ids.

    Windows overlap when `step < seq_len`; n is `(len(text) - seq_len - 1) // step + 1`.

    Args:
        text: the corpus, e.g. `shakespeare()`; at least `seq_len + 1` characters.
        seq_len: characters per window, a positive int.
        step: characters between the starts of consecutive windows, a positive int.

    Example:
        >>> from workbench.datasets import char_sequences, decode
        >>> x, y, vocab = char_sequences("hello world", seq_len=4, step=2)
        >>> decode(x, vocab), decode(y, vocab)
        (['hell', 'llo ', 'o wo', 'worl'], ['ello', 'lo w', ' wor', 'orld'])
    """
    if not isinstance(text, str):
        raise TypeError(f"char_sequences: text must be a str, got {type(text).__name__}: {text!r:.80}.")
    seq_len = check_int("char_sequences", "seq_len", seq_len, minimum=1)
    step = check_int("char_sequences", "step", step, minimum=1)
    if len(text) < seq_len + 1:
        raise ValueError(
            f"char_sequences: text has {len(text)} characters, but a window of seq_len={seq_len} and the "
            f"character after it need {seq_len + 1}. Use a longer text or a shorter seq_len."
        )
    vocab = "".join(sorted(set(text)))
    ids = encode(text, vocab)
    windows = np.lib.stride_tricks.sliding_window_view(ids, seq_len + 1)[::step]
    return np.ascontiguousarray(windows[:, :-1]), np.ascontiguousarray(windows[:, 1:]), vocab
