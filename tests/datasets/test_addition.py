"""addition: the Keras seq2seq addition task as token ids over ADDITION_VOCAB."""

import numpy as np
import pytest

from workbench.datasets import ADDITION_VOCAB, addition, decode


def pairs(x, reverse=False):
    """The operands of each question, as decoded from the token ids."""
    out = []
    for question in decode(x, ADDITION_VOCAB):
        a, b = (question[::-1] if reverse else question).split("+")
        out.append((int(a), int(b)))
    return out


def test_vocab_is_the_digits_plus_and_pad():
    assert ADDITION_VOCAB == "0123456789+ "


@pytest.mark.parametrize("digits", [1, 2, 3, 5])
def test_shapes_dtypes_and_every_answer_is_the_sum(digits):
    (x_train, y_train), (x_test, y_test) = addition(digits=digits, n_samples=40, seed=digits)
    assert x_train.shape == (36, 2 * digits + 1) and x_test.shape == (4, 2 * digits + 1)
    assert y_train.shape == (36, digits + 1) and y_test.shape == (4, digits + 1)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.int32)}
    for x, y in ((x_train, y_train), (x_test, y_test)):
        for (a, b), answer in zip(pairs(x), decode(y, ADDITION_VOCAB)):
            assert a < 10**digits and b < 10**digits
            assert answer == str(a + b).ljust(digits + 1)


def test_questions_are_left_aligned_and_padded_with_spaces():
    (x, _), _ = addition(digits=3, n_samples=2000, seed=0)
    for question in decode(x, ADDITION_VOCAB):
        a, b = question.split("+")
        assert question == f"{int(a)}+{int(b)}".ljust(7)


def test_default_is_50000_questions_split_90_10():
    (x_train, y_train), (x_test, y_test) = addition()
    assert x_train.shape == (45000, 7) and y_train.shape == (45000, 4)
    assert x_test.shape == (5000, 7) and y_test.shape == (5000, 4)
    assert all(int(answer) == a + b for (a, b), answer in zip(pairs(x_test), decode(y_test, ADDITION_VOCAB)))


def test_no_question_repeats_and_a_plus_b_equals_b_plus_a():
    (x_train, _), (x_test, _) = addition(digits=2, n_samples=5000, seed=1)
    unordered = [tuple(sorted(p)) for p in pairs(np.concatenate([x_train, x_test]))]
    assert len(set(unordered)) == 5000


def test_one_digit_gives_every_distinct_question_by_default():
    (x_train, _), (x_test, _) = addition(digits=1)
    assert len(x_train) + len(x_test) == 55
    unordered = {tuple(sorted(p)) for p in pairs(np.concatenate([x_train, x_test]))}
    assert unordered == {(a, b) for b in range(10) for a in range(b + 1)}


def test_asking_for_more_questions_than_exist_says_how_many_do():
    with pytest.raises(ValueError, match="digits=1 allows only 55 distinct questions.*Ask for at most 55"):
        addition(digits=1, n_samples=56)
    with pytest.raises(ValueError, match="digits=2 allows only 5050"):
        addition(digits=2, n_samples=5051)


def test_reverse_writes_the_same_questions_backwards_and_keeps_the_answers():
    (x, y), (xt, yt) = addition(digits=3, n_samples=300, seed=2)
    (xr, yr), (xrt, yrt) = addition(digits=3, n_samples=300, seed=2, reverse=True)
    np.testing.assert_array_equal(xr, x[:, ::-1])
    np.testing.assert_array_equal(xrt, xt[:, ::-1])
    np.testing.assert_array_equal(yr, y)
    np.testing.assert_array_equal(yrt, yt)
    assert pairs(xr, reverse=True) == pairs(x)


def test_same_seed_same_questions_other_seed_other_questions():
    a, b, c = (
        addition(n_samples=500, seed=4),
        addition(n_samples=500, seed=4),
        addition(n_samples=500, seed=5),
    )
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a[0][0], c[0][0])


def test_one_hot_encoding_from_the_ids():
    (x, _), _ = addition(digits=2, n_samples=20)
    one_hot = np.eye(len(ADDITION_VOCAB), dtype=np.float32)[x]
    assert one_hot.shape == (18, 5, 12)
    np.testing.assert_array_equal(one_hot.argmax(-1), x)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"digits": 0}, ValueError, "addition: digits must be a positive int, got 0"),
        ({"digits": 10}, ValueError, "addition: digits must be between 1 and 9, got 10"),
        ({"digits": "3"}, TypeError, "addition: digits must be a positive int, got str: '3'"),
        ({"n_samples": 1}, ValueError, "addition: n_samples must be an int >= 2, got 1"),
        ({"n_samples": 100.0}, TypeError, "addition: n_samples must be an int >= 2, got float"),
        ({"n_samples": 10, "test_fraction": 0.01}, ValueError, "test_fraction=0.01 of 10 questions leaves 0"),
        ({"test_fraction": 0}, ValueError, "addition: test_fraction must be strictly between 0 and 1"),
        ({"reverse": 1}, TypeError, "addition: reverse must be True or False, got int: 1"),
        ({"seed": -1}, ValueError, "addition: seed must be a non-negative int, got -1"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        addition(**kwargs)
