"""Datasets read from files: `.npy`, `.npz`, CSV and text lines.

Each file format has a random-access *source* (an object with `__len__` and
`__getitem__`) and a constructor that wraps it in a `Dataset`:

>>> import numpy as np, workbench.data.sources as sources
>>> np.save("/tmp/x.npy", np.arange(6).reshape(3, 2))
>>> [row.tolist() for row in sources.from_npy("/tmp/x.npy")]
[[0, 1], [2, 3], [4, 5]]

The dataset reads elements from several threads at once, so every
`__getitem__` here is safe to call concurrently: arrays are read from memory
or a read-only memory map, never through a shared file position.
"""

from __future__ import annotations

import codecs
import csv
import mmap
import operator
import os
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from workbench.data.dataset import Dataset

__all__ = [
    "CsvSource",
    "NpySource",
    "NpzSource",
    "TextLineSource",
    "from_csv",
    "from_npy",
    "from_npz",
    "from_text_lines",
]


def _check_file(path, argument: str) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"`{argument}` must be a file path (str or os.PathLike), got {type(path).__name__}: {path!r}."
        )
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Expected a file, got the directory {path!r}.")
    return path


def _check_files(paths, argument: str) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [_check_file(paths, argument)]
    if not isinstance(paths, (list, tuple)):
        raise TypeError(
            f"`{argument}` must be a file path or a list/tuple of file paths, got {type(paths).__name__}: {paths!r}."
        )
    if not paths:
        raise ValueError(f"`{argument}` is an empty list; pass at least one file.")
    return [_check_file(path, argument) for path in paths]


def _check_index(index, length: int) -> int:
    try:
        index = operator.index(index)
    except TypeError:
        raise TypeError(f"Index must be an int, got {type(index).__name__}: {index!r}.") from None
    if not -length <= index < length:
        raise IndexError(f"Index {index} is out of range for a source of length {length}.")
    return index % length


class NpySource:
    """The rows of one `.npy` array, sliced along axis 0.

    With `mmap=True` the file is memory-mapped read-only, so only the rows that
    are read are loaded; each row comes back as an ordinary in-memory copy.
    """

    def __init__(self, path, mmap: bool = True):
        self.path = _check_file(path, "path")
        if not isinstance(mmap, bool):
            raise TypeError(f"`mmap` must be True or False, got {type(mmap).__name__}: {mmap!r}.")
        self.mmap = mmap
        self._array = self._load()

    def _load(self) -> np.ndarray:
        try:
            array = np.load(self.path, mmap_mode="r" if self.mmap else None, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise ValueError(f"Cannot read {self.path!r} as a .npy array: {err}") from err
        if not isinstance(array, np.ndarray):
            array.close()
            raise ValueError(f"{self.path!r} is an .npz archive, not a .npy array; use `from_npz` for it.")
        if array.ndim == 0:
            raise ValueError(f"{self.path!r} holds a 0-d array; a dataset needs at least one axis to slice.")
        return array

    def __len__(self) -> int:
        return self._array.shape[0]

    def __getitem__(self, index: int):
        row = self._array[_check_index(index, len(self))]
        # np.array copies the row out of the memory map into a plain ndarray.
        return np.array(row) if isinstance(row, np.ndarray) else row

    def __getstate__(self):
        # Pickle the path, not the data: worker processes map the file again.
        state = dict(self.__dict__)
        if self.mmap:
            del state["_array"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "_array" not in state:
            self._array = self._load()


class NpzSource:
    """The rows of the arrays in one `.npz` archive.

    All selected arrays are read into memory at construction (`.npz` members
    cannot be memory-mapped). The element is a dict `name -> row` when `keys`
    is None, or a tuple of rows in the order of `keys`.
    """

    def __init__(self, path, keys: list[str] | tuple[str, ...] | None = None):
        self.path = _check_file(path, "path")
        if keys is not None:
            if not isinstance(keys, (list, tuple)) or not all(isinstance(k, str) for k in keys):
                raise TypeError(f"`keys` must be None or a list/tuple of array names, got {keys!r}.")
            if not keys:
                raise ValueError(
                    "`keys` is empty; name at least one array, or pass keys=None for all of them."
                )
        try:
            archive = np.load(self.path, allow_pickle=False)
        except (ValueError, OSError) as err:
            raise ValueError(f"Cannot read {self.path!r} as an .npz archive: {err}") from err
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(f"{self.path!r} is a .npy array, not an .npz archive; use `from_npy` for it.")
        with archive:
            names = list(archive.files)
            missing = [k for k in keys or () if k not in names]
            if missing:
                raise KeyError(f"{self.path!r} has no array named {missing}; it holds {names}.")
            self.keys = tuple(keys) if keys is not None else None
            self._arrays = {name: archive[name] for name in (keys or names)}
        if not self._arrays:
            raise ValueError(f"{self.path!r} holds no arrays.")
        lengths = {name: (array.shape[0] if array.ndim else None) for name, array in self._arrays.items()}
        if len(set(lengths.values())) != 1 or None in lengths.values():
            listing = ", ".join(f"{name!r}: {n if n is not None else '0-d'}" for name, n in lengths.items())
            raise ValueError(
                f"All arrays in {self.path!r} must share their first dimension; got lengths {listing}."
            )
        self._length = next(iter(lengths.values()))

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int):
        index = _check_index(index, self._length)
        if self.keys is None:
            return {name: array[index] for name, array in self._arrays.items()}
        return tuple(self._arrays[name][index] for name in self.keys)


_NO_DEFAULT = object()
_TEXT_KINDS, _NUMBER_KINDS = "USO", "iuf"  # numpy dtype kinds a CSV column may have


def _column_type(spec, column: str) -> tuple[np.dtype | None, Any]:
    """One `column_defaults` entry -> (dtype or None to infer, default or _NO_DEFAULT)."""
    if spec is None:
        return None, _NO_DEFAULT
    if isinstance(spec, (type, np.dtype)):  # a type alone: the column is typed and every value is required
        known = isinstance(spec, np.dtype) or spec in (int, float, str) or issubclass(spec, np.generic)
        kind = np.dtype(spec).kind if known else None
        if kind is None or kind not in _TEXT_KINDS + _NUMBER_KINDS:
            raise TypeError(
                f"column_defaults[{column!r}]: expected int, float or str (or a numpy type), got {spec!r}."
            )
        return (np.dtype(object) if kind in _TEXT_KINDS else np.dtype(spec)), _NO_DEFAULT
    if isinstance(spec, str):
        return np.dtype(object), str(spec)
    if isinstance(spec, np.generic) and spec.dtype.kind in _NUMBER_KINDS:
        return spec.dtype, spec
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return np.dtype(np.int64 if isinstance(spec, int) else np.float64), spec
    raise TypeError(
        f"column_defaults[{column!r}]: expected a default value (int, float or str), a type, or None; "
        f"got {type(spec).__name__}: {spec!r}."
    )


def _csv_records(path: str, delim: str):
    """Yield (line number, fields) for each non-blank record of one CSV file."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        # strict: a stray or unclosed quote is an error, not a field that silently swallows the rest of the file
        reader = csv.reader(f, delimiter=delim, strict=True)
        line = 1  # where the next record starts; a quoted field may span lines
        try:
            for fields in reader:
                start, line = line, reader.line_num + 1
                if fields:
                    yield start, fields
        except csv.Error as err:
            raise ValueError(f"{path}, line {line}: malformed CSV: {err}") from err
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}, line {reader.line_num + 1}: not UTF-8 text: {err}") from err


class CsvSource:
    """The records of one or more CSV files, parsed into numpy columns at construction.

    An element is a dict `column -> value` (a numpy scalar, or a Python `str`
    for text columns), or `(features, label)` when `label_name` is set.
    `columns` holds the parsed arrays. See `from_csv` for the arguments.
    """

    def __init__(
        self,
        paths,
        column_names=None,
        header: bool = True,
        select_columns=None,
        label_name: str | None = None,
        column_defaults=None,
        field_delim: str = ",",
        na_value: str = "",
    ):
        self.paths = _check_files(paths, "paths")
        if not isinstance(header, bool):
            raise TypeError(f"`header` must be True or False, got {type(header).__name__}: {header!r}.")
        if not isinstance(field_delim, str) or len(field_delim) != 1:
            raise TypeError(f"`field_delim` must be a one-character str, got {field_delim!r}.")
        if not isinstance(na_value, str):
            raise TypeError(f"`na_value` must be a str, got {type(na_value).__name__}: {na_value!r}.")
        if column_names is not None:
            if not isinstance(column_names, (list, tuple)) or not all(
                isinstance(c, str) for c in column_names
            ):
                raise TypeError(f"`column_names` must be a list/tuple of str, got {column_names!r}.")
            if not column_names or len(set(column_names)) != len(column_names):
                raise ValueError(f"`column_names` must be non-empty and unique, got {list(column_names)}.")
            column_names = list(column_names)
        elif not header:
            raise ValueError("With header=False the files do not name their columns; pass `column_names`.")
        if label_name is not None and not isinstance(label_name, str):
            raise TypeError(f"`label_name` must be a column name (str) or None, got {label_name!r}.")

        names, rows, row_files, row_lines = self._read(column_names, header, field_delim)
        selected = _select_columns(names, select_columns)
        self.column_names = [names[i] for i in selected]
        if label_name is not None and label_name not in self.column_names:
            raise ValueError(
                f"`label_name` {label_name!r} is not among the selected columns {self.column_names}."
            )
        self.label_name = label_name
        self._row_files = np.asarray(row_files, dtype=np.int32)
        self._row_lines = np.asarray(row_lines, dtype=np.int64)
        types = self._column_types(column_defaults, names)
        self.columns = {
            name: self._parse(name, [row[i] for row in rows], *types[name], na_value)
            for name, i in zip(self.column_names, selected)
        }
        self._length = len(rows)

    def _read(self, names, header, delim):
        rows, row_files, row_lines = [], [], []
        first_header = None  # (path, fields) of the first file's header
        for file_index, path in enumerate(self.paths):
            records = _csv_records(path, delim)
            if header:
                _, fields = next(records, (None, None))
                if fields is None:
                    if names is None:
                        raise ValueError(
                            f"{path} is empty; with header=True its first line must name the columns."
                        )
                    continue
                if first_header is None:
                    first_header = (path, fields)
                    if names is None:
                        if len(set(fields)) != len(fields):
                            raise ValueError(f"{path}, line 1: the header repeats a column name: {fields}.")
                        names = fields
                    elif len(fields) != len(names):
                        raise ValueError(
                            f"{path}, line 1: the header has {len(fields)} fields but `column_names` "
                            f"names {len(names)}: {names}."
                        )
                elif fields != first_header[1]:
                    raise ValueError(
                        f"{path} has the columns {fields}, but {first_header[0]} has {first_header[1]}; "
                        "all files must share their columns."
                    )
            for line, fields in records:
                if len(fields) != len(names):
                    raise ValueError(
                        f"{path}, line {line}: expected {len(names)} fields, found {len(fields)}."
                    )
                rows.append(fields)
                row_files.append(file_index)
                row_lines.append(line)
        return names, rows, row_files, row_lines

    def _column_types(self, column_defaults, names: list[str]) -> dict:
        if column_defaults is None:
            return {name: (None, _NO_DEFAULT) for name in self.column_names}
        if isinstance(column_defaults, dict):
            unknown = [name for name in column_defaults if name not in names]
            if unknown:
                raise ValueError(f"column_defaults names {unknown}, which are not among the columns {names}.")
            return {name: _column_type(column_defaults.get(name), name) for name in self.column_names}
        if not isinstance(column_defaults, (list, tuple)):
            raise TypeError(
                "`column_defaults` must be a list/tuple (one entry per selected column) or a dict "
                f"(column -> entry), got {type(column_defaults).__name__}."
            )
        if len(column_defaults) != len(self.column_names):
            raise ValueError(
                f"`column_defaults` has {len(column_defaults)} entries, expected one per selected column "
                f"({len(self.column_names)}: {self.column_names})."
            )
        return {name: _column_type(spec, name) for name, spec in zip(self.column_names, column_defaults)}

    def _where(self, row: int) -> str:
        return f"{self.paths[self._row_files[row]]}, line {self._row_lines[row]}"

    def _parse(self, name: str, raw: list[str], dtype, default, na_value: str) -> np.ndarray:
        values = np.empty(len(raw), dtype=object)
        values[:] = raw
        missing = (values == "") | (values == na_value)
        present = values[~missing]
        if dtype is None:  # infer: int64 if every value parses as one, else float64, else text
            dtype = np.dtype(object)
            for candidate in (np.int64, np.float64):
                try:
                    present.astype(candidate)
                except (ValueError, OverflowError):
                    continue
                dtype = np.dtype(candidate)
                break
        if missing.any() and default is _NO_DEFAULT:
            row = int(np.flatnonzero(missing)[0])
            raise ValueError(
                f"{self._where(row)}: column {name!r} has no value and no default; "
                "give it one in `column_defaults`."
            )
        if dtype.kind == "O":
            if missing.any():
                values[missing] = default
            return values
        out = np.empty(len(raw), dtype=dtype)
        try:
            out[~missing] = present.astype(dtype)
        except (ValueError, OverflowError):
            for row in np.flatnonzero(~missing):
                try:
                    np.asarray([values[row]], dtype=object).astype(dtype)
                except (ValueError, OverflowError) as err:
                    raise ValueError(
                        f"{self._where(row)}: column {name!r} holds {values[row]!r}, which cannot be read as {dtype}."
                    ) from err
            raise
        if missing.any():
            out[missing] = default
        return out

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int):
        index = _check_index(index, self._length)
        features = {name: column[index] for name, column in self.columns.items()}
        if self.label_name is None:
            return features
        label = features.pop(self.label_name)
        return features, label


def _select_columns(names: list[str], select_columns) -> list[int]:
    """Indices of the selected columns, in file order."""
    if select_columns is None:
        return list(range(len(names)))
    if not isinstance(select_columns, (list, tuple)):
        raise TypeError(
            f"`select_columns` must be a list/tuple of column names or indices, got {select_columns!r}."
        )
    if not select_columns:
        raise ValueError(
            "`select_columns` is empty; select at least one column, or pass None for all of them."
        )
    indices = []
    for column in select_columns:
        if isinstance(column, str):
            if column not in names:
                raise ValueError(f"select_columns: there is no column {column!r}; the columns are {names}.")
            indices.append(names.index(column))
        elif isinstance(column, (int, np.integer)) and not isinstance(column, bool):
            if not 0 <= column < len(names):
                raise ValueError(
                    f"select_columns: index {column} is out of range for {len(names)} columns {names}."
                )
            indices.append(int(column))
        else:
            raise TypeError(
                f"select_columns: expected a column name or index, got {type(column).__name__}: {column!r}."
            )
    if len(set(indices)) != len(indices):
        raise ValueError(f"select_columns names a column twice: {list(select_columns)}.")
    return sorted(indices)


class TextLineSource:
    """The lines of one or more text files, without their line endings (`\\n` or `\\r\\n`).

    Construction scans the files once for line breaks (in chunks, with numpy)
    and keeps only the start and end offset of each line; lines are decoded
    when read, from a read-only memory map of the file.
    """

    _CHUNK = 1 << 24

    def __init__(self, paths, encoding: str = "utf-8"):
        self.paths = _check_files(paths, "paths")
        if not isinstance(encoding, str):
            raise TypeError(
                f"`encoding` must be a str such as 'utf-8', got {type(encoding).__name__}: {encoding!r}."
            )
        try:
            codecs.lookup(encoding)
        except LookupError as err:
            raise ValueError(f"Unknown `encoding` {encoding!r}.") from err
        if "\r\n".encode(encoding) != b"\r\n":
            # Lines are found by scanning bytes for b"\n"; that only works when the encoding writes it so.
            raise ValueError(
                f"`encoding` {encoding!r} does not encode '\\n' as one byte 0x0A; use utf-8, latin-1, ascii."
            )
        self.encoding = encoding
        starts, ends, counts = [], [], []
        for path in self.paths:
            s, e = self._index(path)
            starts.append(s)
            ends.append(e)
            counts.append(len(s))
        self._starts = np.concatenate(starts)
        self._ends = np.concatenate(ends)
        self._file_ends = np.cumsum(counts)
        self._maps: list[mmap.mmap | None] = [None] * len(self.paths)
        self._lock = threading.Lock()

    @classmethod
    def _index(cls, path: str) -> tuple[np.ndarray, np.ndarray]:
        """Start and end (exclusive, before the newline) byte offsets of each line of one file."""
        breaks, size = [], 0
        with open(path, "rb") as f:
            while chunk := f.read(cls._CHUNK):
                breaks.append(np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 0x0A) + size)
                size += len(chunk)
        newlines = np.concatenate(breaks) if breaks else np.zeros(0, dtype=np.int64)
        starts = np.concatenate([[0], newlines + 1]).astype(np.int64)
        ends = newlines.astype(np.int64)
        if starts[-1] < size:  # a last line with no newline after it
            return starts, np.append(ends, size)
        return starts[:-1], ends

    def _map(self, file_index: int) -> mmap.mmap:
        mapped = self._maps[file_index]
        if mapped is None:
            with self._lock:
                mapped = self._maps[file_index]
                if mapped is None:
                    with open(self.paths[file_index], "rb") as f:
                        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                    self._maps[file_index] = mapped
        return mapped

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, index: int) -> str:
        index = _check_index(index, len(self))
        file_index = int(np.searchsorted(self._file_ends, index, side="right"))
        start, end = int(self._starts[index]), int(self._ends[index])
        data = self._map(file_index)[start:end]
        if data.endswith(b"\r"):
            data = data[:-1]
        try:
            return data.decode(self.encoding)
        except UnicodeDecodeError as err:
            first = self._file_ends[file_index - 1] if file_index else 0
            raise ValueError(
                f"{self.paths[file_index]}, line {index - first + 1}: cannot decode as {self.encoding}: {err}"
            ) from err

    def __getstate__(self):
        # Memory maps and locks do not pickle; a worker process maps the files again.
        state = dict(self.__dict__)
        state["_maps"] = [None] * len(self.paths)
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()


def from_npy(path: str | os.PathLike, mmap: bool = True) -> Dataset:
    """A dataset of the rows (axis 0) of a `.npy` array, memory-mapped read-only by default.

    >>> ds = from_npy("features.npy").batch(32)  # doctest: +SKIP
    """
    from workbench.data.dataset import Dataset

    return Dataset._from_source(NpySource(path, mmap=mmap))


def from_npz(path: str | os.PathLike, keys: list[str] | tuple[str, ...] | None = None) -> Dataset:
    """A dataset of the rows of the arrays in an `.npz` archive, which must share their first dimension.

    The element is a dict `name -> row`, or with `keys` a tuple in that order:

    >>> ds = from_npz("mnist.npz", keys=("x_train", "y_train"))  # doctest: +SKIP
    >>> image, label = next(iter(ds))  # doctest: +SKIP
    """
    from workbench.data.dataset import Dataset

    return Dataset._from_source(NpzSource(path, keys=keys))


def from_csv(
    paths,
    column_names: list[str] | None = None,
    header: bool = True,
    select_columns: list[str | int] | None = None,
    label_name: str | None = None,
    column_defaults=None,
    field_delim: str = ",",
    na_value: str = "",
) -> Dataset:
    """A dataset of CSV records, like `tf.data.experimental.make_csv_dataset` without its batching.

    Each element is a dict `column -> value`, or `(features, label)` when
    `label_name` is given. Several files are read in order and must share
    their columns. Every column is typed from its values (int64, else float64,
    else str) unless `column_defaults` says otherwise: one entry per selected
    column (a list, or a dict by name), each either a default value (its type
    types the column, and it fills empty and `na_value` fields), a type such
    as `float` or `np.float32` (typed, values required), or None (inferred,
    values required). A missing value without a default is an error that
    names the file, line and column.

    >>> ds = from_csv("titanic.csv", label_name="survived", column_defaults={"age": 0.0})  # doctest: +SKIP
    >>> features, label = next(iter(ds))  # doctest: +SKIP
    """
    from workbench.data.dataset import Dataset

    source = CsvSource(
        paths,
        column_names=column_names,
        header=header,
        select_columns=select_columns,
        label_name=label_name,
        column_defaults=column_defaults,
        field_delim=field_delim,
        na_value=na_value,
    )
    return Dataset._from_source(source)


def from_text_lines(paths, encoding: str = "utf-8") -> Dataset:
    """A dataset of the lines of text files (str, without `\\n` / `\\r\\n`), like `tf.data.TextLineDataset`.

    >>> ds = from_text_lines(["train.txt", "more.txt"]).shuffle(1000, seed=0)  # doctest: +SKIP
    """
    from workbench.data.dataset import Dataset

    return Dataset._from_source(TextLineSource(paths, encoding=encoding))
