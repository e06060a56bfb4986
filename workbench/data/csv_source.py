"""CSV files as datasets: records parsed once into typed columns, read by index.

>>> ds = from_csv("titanic.csv", label_name="survived")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.data.sources import _check_files, _check_index

if TYPE_CHECKING:
    from workbench.data.dataset import Dataset

__all__ = ["CsvSource", "from_csv"]


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
