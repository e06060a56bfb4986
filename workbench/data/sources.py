"""Datasets read from files: `.npy`, `.npz` and text lines (CSV: csv_source.py).

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
import mmap
import operator
import os
import threading
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from workbench.data.dataset import Dataset

__all__ = [
    "NpySource",
    "NpzSource",
    "TextLineSource",
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


def from_text_lines(paths, encoding: str = "utf-8") -> Dataset:
    """A dataset of the lines of text files (str, without `\\n` / `\\r\\n`), like `tf.data.TextLineDataset`.

    >>> ds = from_text_lines(["train.txt", "more.txt"]).shuffle(1000, seed=0)  # doctest: +SKIP
    """
    from workbench.data.dataset import Dataset

    return Dataset._from_source(TextLineSource(paths, encoding=encoding))
