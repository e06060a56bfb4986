"""Addition as a sequence-to-sequence task: read "12+345", write "357", one character at a time.

The task follows the Keras example "Sequence to sequence learning for performing number addition"
(addition_rnn, Apache-2.0), after W. Zaremba and I. Sutskever, "Learning to Execute" (2014). The
questions are generated here, so no file ships with the package.
"""

from __future__ import annotations

import numpy as np

from workbench.datasets._checks import check_int, check_seed, check_test_fraction, held_out_count
from workbench.datasets._vocab import encode

ADDITION_VOCAB = "0123456789+ "
"""The characters of `addition`'s questions and answers; token i is `ADDITION_VOCAB[i]` (11 is the pad)."""

_DEFAULT_SAMPLES = 50_000
# Up to 9 digits the count of distinct pairs, 10**d * (10**d + 1) / 2, fits in an int64.
_MAX_DIGITS = 9


def _unordered_pairs(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pair (a, b), a <= b, at `index` when pairs are listed b by b: (0,0), (0,1), (1,1), (0,2), ..."""
    b = ((np.sqrt(8.0 * index + 1.0) - 1.0) // 2).astype(np.int64)
    # The float square root can miss by one for large indices; step b onto its exact value.
    b -= b * (b + 1) // 2 > index
    b += (b + 1) * (b + 2) // 2 <= index
    return index - b * (b + 1) // 2, b


def addition(
    digits: int = 3,
    n_samples: int | None = None,
    test_fraction: float = 0.1,
    reverse: bool = False,
    seed: int = 0,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Sums of two whole numbers of up to `digits` digits, as strings of character tokens.

    A question such as "12+345" is padded with spaces to `2 * digits + 1` characters, its answer "357"
    to `digits + 1`. Returns `(x_train, y_train), (x_test, y_test)` of int32 token ids over
    `ADDITION_VOCAB`: x of shape (n, 2 * digits + 1), y of shape (n, digits + 1). `decode(x,
    ADDITION_VOCAB)` gives the strings back; `np.eye(len(ADDITION_VOCAB))[x]` gives one-hot vectors.

    Each question appears once: the pairs {a, b} are drawn without repeats, uniformly from all pairs
    of numbers in 0 .. 10**digits - 1, and, as in the Keras example, "a+b" and "b+a" count as the same
    question (the order shown is random). So `digits` allows at most 10**digits * (10**digits + 1) / 2
    questions: 55 for one digit, 5050 for two, 500500 for three.

    Args:
        digits: largest number of digits of each operand, 1 to 9.
        n_samples: number of distinct questions, split into train and test; None takes 50000, or every
            question when `digits` allows fewer.
        test_fraction: share of the questions held out for testing, strictly between 0 and 1.
        reverse: write each padded question backwards ("  543+21" for "12+345"), as the Keras example
            does; the first digits the decoder writes then sit close to the ones they depend on.
            Answers are never reversed.
        seed: non-negative integer that fixes the questions, their split and their order.

    Example:
        >>> from workbench.datasets import ADDITION_VOCAB, addition, decode
        >>> (x_train, y_train), (x_test, y_test) = addition(digits=2, n_samples=1000, seed=1)
        >>> x_train.shape, y_train.shape
        ((900, 5), (900, 3))
        >>> question, answer = decode(x_train[0], ADDITION_VOCAB), decode(y_train[0], ADDITION_VOCAB)
        >>> a, b = question.split("+")
        >>> int(a) + int(b) == int(answer)
        True
    """
    digits = check_int("addition", "digits", digits, minimum=1)
    if digits > _MAX_DIGITS:
        raise ValueError(f"addition: digits must be between 1 and {_MAX_DIGITS}, got {digits}.")
    limit = 10**digits
    n_questions = limit * (limit + 1) // 2
    if n_samples is None:
        n_samples = min(_DEFAULT_SAMPLES, n_questions)
    n_samples = check_int("addition", "n_samples", n_samples, minimum=2)
    if n_samples > n_questions:
        raise ValueError(
            f"addition: digits={digits} allows only {n_questions} distinct questions (pairs of numbers below "
            f"{limit}, a+b and b+a counted once), but n_samples={n_samples} were asked for. Ask for at most "
            f"{n_questions}, or use more digits."
        )
    test_fraction = check_test_fraction("addition", test_fraction)
    n_test = held_out_count("addition", test_fraction, n_samples, "questions")
    if not isinstance(reverse, bool):
        raise TypeError(
            f"addition: reverse must be True or False, got {type(reverse).__name__}: {reverse!r}."
        )
    seed = check_seed("addition", seed)

    rng = np.random.default_rng(seed)
    a, b = _unordered_pairs(rng.choice(n_questions, size=n_samples, replace=False))
    swap = rng.random(n_samples) < 0.5
    a, b = np.where(swap, b, a), np.where(swap, a, b)

    question_len, answer_len = 2 * digits + 1, digits + 1
    questions = "".join(f"{p}+{q}".ljust(question_len) for p, q in zip(a.tolist(), b.tolist()))
    answers = "".join(str(s).ljust(answer_len) for s in (a + b).tolist())
    x = encode(questions, ADDITION_VOCAB).reshape(n_samples, question_len)
    y = encode(answers, ADDITION_VOCAB).reshape(n_samples, answer_len)
    if reverse:
        x = np.ascontiguousarray(x[:, ::-1])
    # The questions come in random order, so the split is a cut.
    n_train = n_samples - n_test
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
