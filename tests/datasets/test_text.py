"""shakespeare, char_sequences, encode and decode: text for character-level language models."""

from importlib import resources

import numpy as np
import pytest

from workbench.datasets import char_sequences, decode, encode, shakespeare

# --------------------------------------------------------------------------- shakespeare


def test_parts_begin_and_end_with_the_expected_lines():
    sonnets, tempest = shakespeare("sonnets"), shakespeare("tempest")
    assert sonnets.startswith("THE SONNETS\nby William Shakespeare\n\n")
    assert "\nI\n\nFrom fairest creatures we desire increase,\n" in sonnets
    assert sonnets.endswith("  Love's fire heats water, water cools not love.\n")
    assert tempest.startswith("THE TEMPEST\n\nby William Shakespeare\n")
    assert tempest.endswith("Let your indulgence set me free.\n")


def test_all_is_the_sonnets_then_the_tempest():
    text = shakespeare()
    assert text == shakespeare("all") == shakespeare("sonnets") + "\n\n" + shakespeare("tempest")
    assert len(text) == 194_171
    assert text.splitlines()[0] == "THE SONNETS"


def test_text_is_plain_ascii_with_unix_line_endings_and_small():
    text = shakespeare()
    assert text.isascii() and "\r" not in text
    files = resources.files("workbench.datasets").joinpath("data")
    size = sum(files.joinpath(f"shakespeare_{part}.txt").stat().st_size for part in ("sonnets", "tempest"))
    assert size < 300_000


def test_unknown_part_is_an_error():
    with pytest.raises(ValueError, match=r"shakespeare: part must be one of \['sonnets', 'tempest', 'all'\]"):
        shakespeare("hamlet")
    with pytest.raises(TypeError, match="shakespeare: part must be one of .* got int: 1"):
        shakespeare(1)


# --------------------------------------------------------------------------- char_sequences


def test_windows_and_next_character_targets():
    text = "to be or not to be"
    x, y, vocab = char_sequences(text, seq_len=5, step=3)
    assert vocab == " benort"
    n = (len(text) - 5 - 1) // 3 + 1
    assert x.shape == y.shape == (n, 5) and x.dtype == y.dtype == np.int32
    for i, (window, target) in enumerate(zip(decode(x, vocab), decode(y, vocab))):
        assert window == text[3 * i : 3 * i + 5]
        assert target == text[3 * i + 1 : 3 * i + 6]


def test_on_shakespeare_the_targets_are_the_inputs_moved_by_one():
    text = shakespeare("sonnets")
    x, y, vocab = char_sequences(text, seq_len=100, step=50)
    assert x.shape == ((len(text) - 101) // 50 + 1, 100)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    np.testing.assert_array_equal(x[1:, :50], x[:-1, 50:])  # step 50: each window starts mid-way the last
    assert decode(x[0], vocab) == text[:100]
    assert decode(y[-1], vocab) == text[50 * (len(x) - 1) + 1 : 50 * (len(x) - 1) + 101]
    assert vocab == "".join(sorted(set(text)))


def test_the_last_window_may_end_on_the_last_character():
    x, y, vocab = char_sequences("abcd", seq_len=3)
    assert decode(x, vocab) == ["abc"] and decode(y, vocab) == ["bcd"]


def test_char_sequences_bad_arguments():
    with pytest.raises(ValueError, match="text has 3 characters, but a window of seq_len=3 .* need 4"):
        char_sequences("abc", seq_len=3)
    with pytest.raises(ValueError, match="char_sequences: seq_len must be a positive int, got 0"):
        char_sequences("abc", seq_len=0)
    with pytest.raises(ValueError, match="char_sequences: step must be a positive int, got 0"):
        char_sequences("abcdef", seq_len=2, step=0)
    with pytest.raises(TypeError, match="char_sequences: text must be a str, got list"):
        char_sequences(["a", "b", "c"], seq_len=1)


# --------------------------------------------------------------------------- encode and decode


def test_encode_then_decode_gives_the_text_back():
    vocab = "".join(sorted(set("héllo, wörld")))
    ids = encode("wörld, héllo", vocab)
    assert ids.dtype == np.int32 and ids.shape == (12,)
    assert [vocab[i] for i in ids] == list("wörld, héllo")
    assert decode(ids, vocab) == "wörld, héllo"
    assert decode(np.stack([ids, ids[::-1]]), vocab) == ["wörld, héllo", "olléh ,dlröw"]
    assert encode("", vocab).shape == (0,) and decode([], vocab) == ""


def test_encode_names_the_characters_missing_from_the_vocab():
    with pytest.raises(ValueError, match=r"encode: text has characters that are not in the vocab: '!\?'"):
        encode("ab?c!", "abc")


def test_decode_asks_for_ids_not_probabilities():
    with pytest.raises(TypeError, match=r"argmax\(-1\)"):
        decode(np.zeros((2, 3, 12), np.float32), "0123456789+ ")
    with pytest.raises(TypeError, match="got a float64 array of shape"):
        decode(np.array([0.0, 1.0]), "ab")
    with pytest.raises(
        ValueError, match="ids must lie in 0..1 for a vocab of 2 characters, got ids from 0 to 2"
    ):
        decode([0, 2], "ab")


def test_vocab_must_be_a_str_without_repeats():
    with pytest.raises(ValueError, match=r"without repeated characters, got 'abca' \(repeats \['a'\]\)"):
        encode("abc", "abca")
    with pytest.raises(TypeError, match="vocab must be a str"):
        decode([0], ["a", "b"])
