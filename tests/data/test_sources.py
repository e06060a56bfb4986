"""File sources: .npy, .npz, CSV and text lines, read directly and through `Dataset`."""

import pickle
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from workbench.data.csv_source import CsvSource, from_csv
from workbench.data.sources import (
    NpySource,
    NpzSource,
    TextLineSource,
    from_npy,
    from_npz,
    from_text_lines,
)


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------- .npy


@pytest.fixture
def npy(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(24, dtype=np.float32).reshape(6, 2, 2))
    return path


@pytest.mark.parametrize("mmap", [True, False])
def test_npy_source_slices_axis_0(npy, mmap):
    source = NpySource(npy, mmap=mmap)
    assert len(source) == 6
    row = source[2]
    assert type(row) is np.ndarray and row.dtype == np.float32
    np.testing.assert_array_equal(row, [[8, 9], [10, 11]])
    np.testing.assert_array_equal(source[-1], source[5])


def test_npy_source_rows_are_copies_and_pickle_by_path(npy):
    source = NpySource(npy)
    row = source[0]
    row[...] = -1  # a writable copy, not a view of the read-only map
    assert source[0][0, 0] == 0
    again = pickle.loads(pickle.dumps(source))
    assert isinstance(again._array, np.memmap)
    np.testing.assert_array_equal(again[3], source[3])


def test_npy_source_1d_gives_scalars(tmp_path):
    np.save(tmp_path / "y.npy", np.array([3, 1, 4], dtype=np.int64))
    source = NpySource(tmp_path / "y.npy")
    assert source[1] == 1 and isinstance(source[1], np.int64)


def test_npy_bad_inputs(tmp_path, npy):
    with pytest.raises(FileNotFoundError, match="nope.npy"):
        NpySource(tmp_path / "nope.npy")
    with pytest.raises(TypeError, match="file path.*got int"):
        NpySource(3)
    with pytest.raises(TypeError, match="`mmap` must be True or False"):
        NpySource(npy, mmap="r")
    np.save(tmp_path / "s.npy", np.float32(1))
    with pytest.raises(ValueError, match="0-d array"):
        NpySource(tmp_path / "s.npy")
    np.savez(tmp_path / "a.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="use `from_npz`"):
        NpySource(tmp_path / "a.npz")
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    with pytest.raises(ValueError, match="junk.npy"):
        NpySource(tmp_path / "junk.npy")
    with pytest.raises(IndexError, match="out of range"):
        NpySource(npy)[6]
    with pytest.raises(IsADirectoryError, match="directory"):
        NpySource(tmp_path)


def test_from_npy_iterates_batches_and_shuffles(npy):
    ds = from_npy(npy)
    assert ds.cardinality() == 6
    rows = list(ds.as_numpy_iterator())
    np.testing.assert_array_equal(np.stack(rows), np.load(npy))
    batches = [b.shape for b in from_npy(npy).batch(4)]
    assert batches == [(4, 2, 2), (2, 2, 2)]
    first = [float(r[0, 0]) for r in from_npy(npy).shuffle(6, seed=3)]
    second = [float(r[0, 0]) for r in from_npy(npy).shuffle(6, seed=3)]
    assert first == second and sorted(first) == [0, 4, 8, 12, 16, 20]


# ----------------------------------------------------------------- .npz


@pytest.fixture
def npz(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.arange(8).reshape(4, 2), y=np.array([0, 1, 0, 1]))
    return path


def test_npz_source_dict_and_tuple_elements(npz):
    element = NpzSource(npz)[1]
    assert list(element) == ["x", "y"]
    np.testing.assert_array_equal(element["x"], [2, 3])
    label, x = NpzSource(npz, keys=("y", "x"))[3]
    assert label == 1
    np.testing.assert_array_equal(x, [6, 7])
    assert len(NpzSource(npz, keys=["x"])) == 4


def test_npz_bad_inputs(tmp_path, npz):
    np.savez(tmp_path / "ragged.npz", images=np.zeros((3, 2)), labels=np.zeros(5))
    with pytest.raises(ValueError, match="first dimension.*'images': 3, 'labels': 5"):
        NpzSource(tmp_path / "ragged.npz")
    with pytest.raises(KeyError, match=r"no array named \['z'\].*\['x', 'y'\]"):
        NpzSource(npz, keys=["x", "z"])
    with pytest.raises(TypeError, match="list/tuple of array names"):
        NpzSource(npz, keys="x")
    with pytest.raises(ValueError, match="`keys` is empty"):
        NpzSource(npz, keys=[])
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        NpzSource(tmp_path / "missing.npz")
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ValueError, match="use `from_npy`"):
        NpzSource(tmp_path / "a.npy")
    np.savez(tmp_path / "scalar.npz", x=np.zeros(3), n=np.int64(3))
    with pytest.raises(ValueError, match="'n': 0-d"):
        NpzSource(tmp_path / "scalar.npz")


def test_from_npz_batches_tuples(npz):
    x, y = next(iter(from_npz(npz, keys=("x", "y")).batch(3)))
    np.testing.assert_array_equal(x, [[0, 1], [2, 3], [4, 5]])
    np.testing.assert_array_equal(y, [0, 1, 0])
    batch = next(iter(from_npz(npz).batch(4)))
    assert batch["x"].shape == (4, 2) and batch["y"].shape == (4,)


# ----------------------------------------------------------------- CSV

CSV = 'id,score,name\n1,2.5,ann\n2,,"bo, b"\n\n3,4,cy\n'


def test_csv_types_defaults_and_blank_lines(tmp_path):
    source = CsvSource(write(tmp_path / "t.csv", CSV), column_defaults={"score": -1.0})
    assert len(source) == 3
    first, second = source[0], source[1]
    assert first == {"id": 1, "score": 2.5, "name": "ann"}
    assert isinstance(first["id"], np.int64) and isinstance(first["score"], np.float64)
    assert type(first["name"]) is str
    assert second["score"] == -1.0 and second["name"] == "bo, b"
    assert source.columns["id"].dtype == np.int64 and source.column_names == ["id", "score", "name"]


def test_csv_label_select_and_several_files(tmp_path):
    a = write(tmp_path / "a.csv", "x,y,label\n1,2,0\n3,4,1\n")
    b = write(tmp_path / "b.csv", "x,y,label\n5,6,1\n")
    source = CsvSource([a, b], select_columns=["label", 0], label_name="label")
    assert len(source) == 3
    assert source[2] == ({"x": 5}, 1)
    assert source.column_names == ["x", "label"]


def test_csv_without_header_needs_names(tmp_path):
    path = write(tmp_path / "n.csv", "1;x\n2;y\n")
    source = CsvSource(path, column_names=["n", "s"], header=False, field_delim=";")
    assert source[1] == {"n": 2, "s": "y"}
    with pytest.raises(ValueError, match="pass `column_names`"):
        CsvSource(path, header=False)


def test_csv_column_defaults_set_types_and_na_value(tmp_path):
    path = write(tmp_path / "t.csv", "a,b,c\n1,NA,x\n2,3,NA\n")
    source = CsvSource(path, column_defaults=[np.float32(0), 7, "?"], na_value="NA")
    assert source.columns["a"].dtype == np.float32
    assert source[0]["b"] == 7 and source[1]["c"] == "?"
    assert CsvSource(path, column_defaults={"b": 0.5, "c": ""}, na_value="NA")[0]["b"] == 0.5


def test_csv_inference_falls_back_int_float_str(tmp_path):
    path = write(tmp_path / "t.csv", "i,f,s\n1,1,1\n2,2.5,two\n")
    columns = CsvSource(path).columns
    assert [columns[c].dtype for c in "ifs"] == [np.int64, np.float64, object]


def test_csv_missing_value_without_default_names_file_line_column(tmp_path):
    path = write(tmp_path / "t.csv", CSV)
    with pytest.raises(ValueError, match=r"t\.csv, line 3: column 'score' has no value and no default"):
        CsvSource(path)
    with pytest.raises(ValueError, match="line 3: column 'score'"):
        CsvSource(path, column_defaults=[None, float, None])


def test_csv_wrong_field_count_names_file_line_and_counts(tmp_path):
    path = write(tmp_path / "t.csv", 'a,b\n1,2\n"multi\nline",3\n4,5,6\n')
    with pytest.raises(ValueError, match=r"t\.csv, line 5: expected 2 fields, found 3"):
        CsvSource(path)


def test_csv_unparseable_typed_value(tmp_path):
    path = write(tmp_path / "t.csv", "a,b\n1,2\nx,4\n")
    with pytest.raises(
        ValueError, match=r"t\.csv, line 3: column 'a' holds 'x', which cannot be read as int64"
    ):
        CsvSource(path, column_defaults=[0, 0])


def test_csv_files_must_share_columns(tmp_path):
    a = write(tmp_path / "a.csv", "x,y\n1,2\n")
    b = write(tmp_path / "b.csv", "x,z\n1,2\n")
    with pytest.raises(ValueError, match=r"b\.csv has the columns \['x', 'z'\].*a\.csv has \['x', 'y'\]"):
        CsvSource([a, b])


def test_csv_bad_arguments(tmp_path):
    path = write(tmp_path / "t.csv", "a,b\n1,2\n")
    with pytest.raises(FileNotFoundError, match="gone.csv"):
        CsvSource([path, tmp_path / "gone.csv"])
    with pytest.raises(TypeError, match="list/tuple of file paths, got dict"):
        CsvSource({"a": path})
    with pytest.raises(ValueError, match="empty list"):
        CsvSource([])
    with pytest.raises(TypeError, match="one-character str"):
        CsvSource(path, field_delim="::")
    with pytest.raises(TypeError, match="`header` must be True or False"):
        CsvSource(path, header=1)
    with pytest.raises(TypeError, match="`na_value` must be a str"):
        CsvSource(path, na_value=None)
    with pytest.raises(TypeError, match="`column_names` must be a list/tuple of str"):
        CsvSource(path, column_names="a,b")
    with pytest.raises(ValueError, match="non-empty and unique"):
        CsvSource(path, column_names=["a", "a"])
    with pytest.raises(ValueError, match=r"header has 2 fields but `column_names` names 3"):
        CsvSource(path, column_names=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"no column 'q'; the columns are \['a', 'b'\]"):
        CsvSource(path, select_columns=["q"])
    with pytest.raises(ValueError, match="index 5 is out of range"):
        CsvSource(path, select_columns=[5])
    with pytest.raises(TypeError, match="column name or index, got float"):
        CsvSource(path, select_columns=[1.0])
    with pytest.raises(ValueError, match="names a column twice"):
        CsvSource(path, select_columns=["a", 0])
    with pytest.raises(ValueError, match="`label_name` 'c' is not among"):
        CsvSource(path, label_name="c")
    with pytest.raises(TypeError, match="`label_name` must be a column name"):
        CsvSource(path, label_name=1)
    with pytest.raises(ValueError, match="has 1 entries, expected one per selected column"):
        CsvSource(path, column_defaults=[0])
    with pytest.raises(ValueError, match=r"column_defaults names \['z'\]"):
        CsvSource(path, column_defaults={"z": 0})
    with pytest.raises(TypeError, match=r"column_defaults\['a'\]: expected a default value.*bool"):
        CsvSource(path, column_defaults=[True, 0])
    with pytest.raises(TypeError, match=r"column_defaults\['b'\]: expected int, float or str"):
        CsvSource(path, column_defaults=[0, dict])
    with pytest.raises(TypeError, match="`column_defaults` must be a list/tuple"):
        CsvSource(path, column_defaults=0)
    with pytest.raises(ValueError, match="empty; with header=True"):
        CsvSource(write(tmp_path / "empty.csv", ""))
    with pytest.raises(ValueError, match="repeats a column name"):
        CsvSource(write(tmp_path / "dup.csv", "a,a\n1,2\n"))


def test_csv_malformed_quote_names_file(tmp_path):
    with pytest.raises(ValueError, match=r"q\.csv, line 3: malformed CSV"):
        CsvSource(write(tmp_path / "q.csv", 'a,b\n1,2\n3,"x"y\n4,5\n'))
    with pytest.raises(ValueError, match=r"u\.csv, line 3: malformed CSV.*unexpected end of data"):
        CsvSource(write(tmp_path / "u.csv", 'a,b\n1,2\n3,"unclosed\n4,5\n'))


def test_from_csv_dataset_batches_features_and_label(tmp_path):
    path = write(tmp_path / "t.csv", "x,name,y\n1,a,0\n2,b,1\n3,c,1\n")
    assert from_csv(path).cardinality() == 3
    features, label = next(iter(from_csv(path, label_name="y").batch(2)))
    np.testing.assert_array_equal(features["x"], [1, 2])
    assert features["name"].tolist() == ["a", "b"]
    np.testing.assert_array_equal(label, [0, 1])
    order = [int(f["x"]) for f, _ in from_csv(path, label_name="y").shuffle(3, seed=1)]
    assert order == [int(f["x"]) for f, _ in from_csv(path, label_name="y").shuffle(3, seed=1)]
    assert sorted(order) == [1, 2, 3]


# ----------------------------------------------------------------- text lines


def test_text_lines_endings_and_file_order(tmp_path):
    a = tmp_path / "a.txt"
    a.write_bytes("one\r\ntwö\n\nlast".encode())
    b = write(tmp_path / "b.txt", "b1\n")
    source = TextLineSource([a, b])
    assert [source[i] for i in range(len(source))] == ["one", "twö", "", "last", "b1"]
    assert type(source[0]) is str
    assert len(TextLineSource(write(tmp_path / "empty.txt", ""))) == 0
    assert len(TextLineSource(write(tmp_path / "nl.txt", "\n"))) == 1


def test_text_lines_index_spans_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(TextLineSource, "_CHUNK", 7)
    lines = [f"line {i}" * (i % 3) for i in range(50)]
    source = TextLineSource(write(tmp_path / "t.txt", "\n".join(lines) + "\n"))
    assert [source[i] for i in range(len(source))] == lines


def test_text_lines_read_concurrently_and_pickle(tmp_path):
    lines = [str(i) * (i % 7 + 1) for i in range(400)]
    source = TextLineSource(write(tmp_path / "t.txt", "\n".join(lines)))
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(source.__getitem__, range(400))) == lines
    assert pickle.loads(pickle.dumps(source))[399] == lines[399]


def test_text_lines_latin1_and_decode_errors(tmp_path):
    path = tmp_path / "l.txt"
    path.write_bytes(b"caf\xe9\n")
    assert TextLineSource(path, encoding="latin-1")[0] == "café"
    with pytest.raises(ValueError, match=r"l\.txt, line 1: cannot decode as utf-8"):
        TextLineSource(path)[0]


def test_text_lines_bad_arguments(tmp_path):
    path = write(tmp_path / "t.txt", "a\n")
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "no.txt"))):
        TextLineSource(tmp_path / "no.txt")
    with pytest.raises(TypeError, match="`encoding` must be a str"):
        TextLineSource(path, encoding=8)
    with pytest.raises(ValueError, match="Unknown `encoding` 'klingon'"):
        TextLineSource(path, encoding="klingon")
    with pytest.raises(ValueError, match="does not encode"):
        TextLineSource(path, encoding="utf-16")
    with pytest.raises(TypeError, match="Index must be an int"):
        TextLineSource(path)["0"]


def test_from_text_lines_dataset(tmp_path):
    a = write(tmp_path / "a.txt", "x\ny\n")
    b = write(tmp_path / "b.txt", "z\n")
    ds = from_text_lines([a, b])
    assert ds.cardinality() == 3
    assert list(ds) == ["x", "y", "z"]
    assert next(iter(from_text_lines([a, b]).batch(3))).tolist() == ["x", "y", "z"]
    assert list(ds.skip(1).take(1)) == ["y"]
