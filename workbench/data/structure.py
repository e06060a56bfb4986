"""Element structures: nested tuples and dicts of arrays, their specs, and batching them.

An element of a Dataset is what tf.data calls a structure: a leaf (a numpy array, a
numpy scalar or a Python `str`) or a tuple / dict nesting of leaves. Lists are
leaves too (they become arrays), as in tf.data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TensorSpec:
    """The shape and dtype of one leaf of an element; `None` in `shape` is a dimension that varies."""

    shape: tuple
    dtype: np.dtype
    name: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(None if d is None else int(d) for d in self.shape))
        object.__setattr__(self, "dtype", np.dtype(self.dtype))

    def is_compatible_with(self, value) -> bool:
        arr = np.asarray(value)
        if arr.ndim != len(self.shape) or any(d is not None and d != s for d, s in zip(self.shape, arr.shape)):
            return False
        return _kind(arr.dtype) == _kind(self.dtype)

    def __repr__(self) -> str:
        dims = ", ".join("None" if d is None else str(d) for d in self.shape)
        return f"TensorSpec(shape=({dims}{',' if len(self.shape) == 1 else ''}), dtype={self.dtype.name})"


def _kind(dtype: np.dtype) -> str:
    """Coarse dtype family used when checking elements against a spec ('U' strings of any length match)."""
    return "str" if dtype.kind in "US" else dtype.str


def is_structure(x) -> bool:
    return isinstance(x, (tuple, dict))


def flatten(element) -> list:
    """Leaves in a fixed order: tuple positions, then dict keys sorted."""
    if isinstance(element, tuple):
        return [leaf for item in element for leaf in flatten(item)]
    if isinstance(element, dict):
        return [leaf for key in sorted(element) for leaf in flatten(element[key])]
    return [element]


def map_structure(fn: Callable, *elements):
    """Apply `fn` to matching leaves of elements with the same structure."""
    first = elements[0]
    if isinstance(first, tuple):
        out = tuple(map_structure(fn, *(e[i] for e in elements)) for i in range(len(first)))
        return type(first)(*out) if hasattr(first, "_fields") else out
    if isinstance(first, dict):
        return {k: map_structure(fn, *(e[k] for e in elements)) for k in first}
    return fn(*elements)


def describe(element) -> str:
    """A short picture of an element's structure, for error messages: e.g. `(array, {'a': array})`."""
    if isinstance(element, tuple):
        inner = ", ".join(describe(e) for e in element)
        return f"({inner}{',' if len(element) == 1 else ''})"
    if isinstance(element, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in element.items()) + "}"
    if isinstance(element, str):
        return "str"
    arr = np.asarray(element)
    return f"{arr.dtype.name}{list(arr.shape)}"


def same_structure(a, b) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(
            same_structure(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and set(a) == set(b) and all(
            same_structure(a[k], b[k]) for k in a)
    return True


def as_leaf(x):
    """A leaf as numpy: strings stay `str`, numbers and lists become arrays."""
    if isinstance(x, (str, np.ndarray, np.generic)):
        return x
    if isinstance(x, bytes):
        return x.decode("utf-8")
    return np.asarray(x)


_ARRAYS = (np.ndarray, np.generic)


def normalize(element):
    """Convert every leaf with `as_leaf` (lists are leaves, as in tf.data)."""
    if type(element) is tuple and all(isinstance(e, _ARRAYS) for e in element):
        return element  # the common case, at no cost
    if isinstance(element, _ARRAYS):
        return element
    if isinstance(element, tuple):
        out = tuple(normalize(e) for e in element)
        return type(element)(*out) if hasattr(element, "_fields") else out
    if isinstance(element, dict):
        return {k: normalize(v) for k, v in element.items()}
    return as_leaf(element)


def spec_of(element, batch_dims: Sequence = ()):
    """The TensorSpec structure of `element`, with `batch_dims` prepended to every leaf's shape."""
    def leaf_spec(x):
        arr = np.asarray(x)
        dtype = np.dtype(str) if arr.dtype.kind in "US" else arr.dtype
        return TensorSpec(tuple(batch_dims) + arr.shape, dtype)
    return map_structure(leaf_spec, element)


def check_against_spec(element, spec, where: str):
    """Raise a ValueError naming `where` if `element` does not have `spec`'s structure, dtypes and shapes."""
    if not same_structure(element, spec):
        raise ValueError(f"{where} has structure {describe(element)}, but the dataset's elements have "
                         f"structure {describe_spec(spec)}.")
    for leaf, s in zip(flatten(element), flatten(spec)):
        if not s.is_compatible_with(leaf):
            arr = np.asarray(leaf)
            raise ValueError(f"{where} has a leaf of dtype {arr.dtype.name} and shape {arr.shape}, where "
                             f"{s} was expected.")


def describe_spec(spec) -> str:
    if isinstance(spec, tuple):
        return "(" + ", ".join(describe_spec(s) for s in spec) + ("," if len(spec) == 1 else "") + ")"
    if isinstance(spec, dict):
        return "{" + ", ".join(f"{k!r}: {describe_spec(v)}" for k, v in spec.items()) + "}"
    return f"{spec.dtype.name}{['None' if d is None else d for d in spec.shape]}".replace("'", "")


def _stack_leaves(leaves: list, path: str):
    try:
        return np.stack(leaves)
    except ValueError:
        pass  # name the first element whose shape differs
    first = np.asarray(leaves[0])
    for i, leaf in enumerate(leaves[1:], 1):
        shape = np.shape(leaf)
        if shape != first.shape:
            raise ValueError(
                f"batch: cannot stack elements of different shapes{path}: element 0 has shape {first.shape} and "
                f"element {i} has shape {shape}. Use padded_batch() (or bucket_by_sequence_length()) to "
                "batch elements of varying length, or map them to one shape first.")
    return np.stack([np.asarray(leaf) for leaf in leaves])


def _leaf_paths(element, prefix="") -> list[str]:
    if isinstance(element, tuple):
        return [p for i, e in enumerate(element) for p in _leaf_paths(e, f"{prefix}[{i}]")]
    if isinstance(element, dict):
        return [p for k in sorted(element) for p in _leaf_paths(element[k], f"{prefix}[{k!r}]")]
    return [prefix]


def _shallow_key(element):
    if type(element) is tuple:
        return len(element)
    if isinstance(element, dict):
        return tuple(element)
    return type(element)


def _check_batchable(elements: list):
    first = elements[0]
    if type(first) is tuple and all(isinstance(e, _ARRAYS) for e in first):
        key = len(first)  # flat tuples of arrays: equal lengths are equal structures
        if all(type(e) is tuple and len(e) == key and all(isinstance(v, _ARRAYS) for v in e)
               for e in elements):
            return
    for i, e in enumerate(elements[1:], 1):
        if not same_structure(first, e):
            raise ValueError(f"batch: element {i} has structure {describe(e)}, unlike element 0's "
                             f"{describe(first)}; every element of a dataset must have the same structure.")


def _rebuild(template, leaves: list):
    """`template`'s structure with `leaves` in `flatten` order (dict keys sorted, insertion order kept)."""
    it = iter(leaves)

    def build(node):
        if isinstance(node, tuple):
            out = tuple(build(e) for e in node)
            return type(node)(*out) if hasattr(node, "_fields") else out
        if isinstance(node, dict):
            values = {k: build(node[k]) for k in sorted(node)}
            return {k: values[k] for k in node}
        return next(it)

    return build(template)


def stack(elements: list):
    """Batch a list of elements: each leaf gets a new leading axis (rows must agree in shape)."""
    first = elements[0]
    if isinstance(first, _ARRAYS):
        if all(isinstance(e, _ARRAYS) and np.shape(e) == np.shape(first) for e in elements):
            return np.stack(elements)
    _check_batchable(elements)
    if type(first) is tuple and all(isinstance(v, _ARRAYS) for v in first):
        return tuple(_stack_leaves(list(col), f" at [{i}]") for i, col in enumerate(zip(*elements)))
    paths = _leaf_paths(elements[0])
    columns = zip(*(flatten(e) for e in elements))
    leaves = [_stack_leaves(list(col), f" at {p}" if p else "") for col, p in zip(columns, paths)]
    return _rebuild(elements[0], leaves)


def _pad_leaves(leaves: list, shape, value, path: str):
    arrays = [np.asarray(x) for x in leaves]
    rank = arrays[0].ndim
    for i, a in enumerate(arrays[1:], 1):
        if a.ndim != rank:
            raise ValueError(f"padded_batch: element {i}{path} has rank {a.ndim}, element 0 has rank {rank}; "
                             "padding changes lengths, not the number of dimensions.")
    longest = [max(a.shape[d] for a in arrays) for d in range(rank)]
    if shape is None:
        target = longest
    else:
        shape = tuple(shape)
        if len(shape) != rank:
            raise ValueError(f"padded_batch: padded_shapes{path} {shape} has {len(shape)} dimensions but the "
                             f"elements have {rank}.")
        target = [longest[d] if shape[d] in (None, -1) else int(shape[d]) for d in range(rank)]
        for d in range(rank):
            if longest[d] > target[d]:
                raise ValueError(f"padded_batch: an element{path} has length {longest[d]} in dimension {d}, "
                                 f"longer than the padded shape {shape}.")
    dtype = arrays[0].dtype
    if dtype.kind in "US":
        dtype = np.result_type(*[a.dtype for a in arrays])
        fill = "" if value is None else value
    else:
        fill = 0 if value is None else value
    out = np.full((len(arrays), *target), fill, dtype=dtype)
    for i, a in enumerate(arrays):
        out[(i, *(slice(0, n) for n in a.shape))] = a
    return out


def padded_stack(elements: list, padded_shapes=None, padding_values=None):
    """Batch elements of varying shapes, padding each leaf to `padded_shapes` (or the batch's longest)."""
    _check_batchable(elements)
    template = elements[0]
    paths = _leaf_paths(template)
    shapes = _broadcast(padded_shapes, template, "padded_shapes")
    values = _broadcast(padding_values, template, "padding_values")
    columns = zip(*(flatten(e) for e in elements))
    leaves = [_pad_leaves(list(col), s, v, f" at {p}" if p else "")
              for col, s, v, p in zip(columns, shapes, values, paths)]
    return _rebuild(template, leaves)


def _broadcast(option, template, name: str) -> list:
    """One value per leaf: None or a leaf-level value applies to all leaves; a structure must match."""
    n = len(flatten(template))
    if option is None:
        return [None] * n
    if is_structure(template) and is_structure(option):
        if not same_structure(option, template) and not _shape_leaves_match(option, template):
            raise ValueError(f"{name} has structure {option!r}, which does not match the elements' "
                             f"structure {describe(template)}.")
        return _flatten_shapes(option) if name == "padded_shapes" else flatten(option)
    if is_structure(template) and name == "padded_shapes":
        raise ValueError(f"padded_shapes must match the elements' structure {describe(template)}; got {option!r}.")
    return [option] * n


def _shape_leaves_match(option, template) -> bool:
    try:
        return len(_flatten_shapes(option)) == len(flatten(template))
    except TypeError:
        return False


def _flatten_shapes(option) -> list:
    """Like flatten, but a tuple of ints / None is one shape, not a structure."""
    if isinstance(option, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in option):
        return [tuple(option)]
    if isinstance(option, tuple):
        return [s for item in option for s in _flatten_shapes(item)]
    if isinstance(option, dict):
        return [s for key in sorted(option) for s in _flatten_shapes(option[key])]
    if option is None:
        return [None]
    raise TypeError(f"not a shape: {option!r}")


def gather(tree, index):
    """Rows `index` (an int or an int array) of every leaf of an array structure."""
    if type(tree) is tuple and all(isinstance(a, np.ndarray) for a in tree):
        return tuple(a[index] for a in tree)
    if isinstance(tree, np.ndarray):
        return tree[index]
    return map_structure(lambda a: a[index], tree)


def num_rows(tree, name: str = "from_tensor_slices") -> int:
    sizes = [(p, np.shape(a)) for p, a in zip(_leaf_paths(tree), flatten(tree))]
    for p, shape in sizes:
        if len(shape) == 0:
            raise ValueError(f"{name}: the leaf{(' at ' + p) if p else ''} is a scalar; every leaf needs a "
                             "leading dimension to slice along.")
    counts = {shape[0] for _, shape in sizes}
    if len(counts) > 1:
        listing = ", ".join(f"{p or 'x'}: {shape[0]}" for p, shape in sizes)
        raise ValueError(f"{name}: all leaves must have the same number of rows; got {listing}.")
    return counts.pop()


def to_array_leaf(x, path: str, name: str = "from_tensor_slices"):
    """Convert a leaf given to from_tensor_slices to an array, rejecting ragged nested lists clearly."""
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            raise ValueError(_ragged_message(name, path, x))
        return x
    if hasattr(x, "__array__") and not isinstance(x, (list, tuple)):
        return np.asarray(x)
    try:
        arr = np.asarray(x)
    except ValueError:
        raise ValueError(_ragged_message(name, path, x)) from None
    if arr.dtype == object:
        raise ValueError(_ragged_message(name, path, x))
    return arr


def _ragged_message(name: str, path: str, x) -> str:
    lengths = []
    try:
        lengths = [len(r) for r in list(x)[:5]]
    except TypeError:
        pass
    where = f" at {path}" if path else ""
    return (f"{name}: the data{where} is ragged (rows of different lengths{', e.g. ' + str(lengths) if lengths else ''}"
            "), so it cannot be one array. Pad the rows to one length first "
            "(e.g. keras.utils.pad_sequences), or make a dataset of the rows with from_generator() and batch "
            "it with padded_batch().")


def element_paths(element) -> list[str]:
    return _leaf_paths(element)


Element = Any
