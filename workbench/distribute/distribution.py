"""Distributions: how a model's variables and batches are laid out over devices (Keras 3's names).

A distribution owns a `jax.sharding.Mesh` and answers two questions:
which `NamedSharding` a variable gets (by its path), and which one a batch
gets (split along the batch axis of the mesh). The trainer places the train
state and every batch accordingly and lets XLA's partitioner (GSPMD) compile
the step for that layout: gradients of data-parallel replicas are summed by
the collectives it inserts, metrics are computed over the global batch.

- `DataParallel()`: every variable replicated, the batch split over all devices.
- `ModelParallel(mesh, layout_map)`: variables laid out by regular expressions on their paths.
- `FSDP()`: every large variable split along its largest dimension that the devices divide,
  the batch split over the same devices.

Meshes use auto axes (`AxisType.Auto`) on every jax version, so the same code
runs where meshes default to explicit axes (jax 0.11+).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


class DeviceMesh:
    """A named grid of devices: `DeviceMesh((2, 4), ("batch", "model"))` over the first 8 devices."""

    def __init__(self, shape: Sequence[int], axis_names: Sequence[str], devices=None):
        shape, axis_names = tuple(int(s) for s in shape), tuple(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: {len(shape)} sizes {shape} for {len(axis_names)} axis names {axis_names}.")
        if len(set(axis_names)) != len(axis_names):
            raise ValueError(f"DeviceMesh: axis names must differ; got {axis_names}.")
        devices = list(jax.devices() if devices is None else np.asarray(devices).ravel())
        size = int(np.prod(shape))
        if size != len(devices):
            raise ValueError(f"DeviceMesh: shape {shape} holds {size} devices, but {len(devices)} were given "
                             f"({jax.device_count()} exist).")
        self.shape, self.axis_names = shape, axis_names
        self.devices = np.asarray(devices, dtype=object).reshape(shape)
        auto = (jax.sharding.AxisType.Auto,) * len(shape)
        self.mesh = Mesh(self.devices, axis_names, axis_types=auto)

    def __repr__(self) -> str:
        return f"DeviceMesh(shape={self.shape}, axis_names={self.axis_names})"


class LayoutMap:
    """Variable path patterns -> layouts: `layout_map["dense.*/kernel"] = (None, "model")`.

    A layout names, per dimension of the variable, the mesh axis it is split along (or None).
    The first pattern that `re.fullmatch`es a variable's path wins; unmatched variables are replicated.
    """

    def __init__(self, device_mesh: DeviceMesh | None = None):
        self.device_mesh = device_mesh
        self._layouts: dict[str, tuple] = {}

    def __setitem__(self, pattern: str, layout) -> None:
        re.compile(pattern)
        self._layouts[pattern] = tuple(layout)

    def __getitem__(self, path: str) -> tuple | None:
        for pattern, layout in self._layouts.items():
            if re.fullmatch(pattern, path):
                return layout
        return None

    def items(self):
        return self._layouts.items()


class Distribution:
    """Base: a mesh, the name of its batch axis, and a layout per variable."""

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name: str):
        if batch_dim_name not in device_mesh.axis_names:
            raise ValueError(f"The batch axis '{batch_dim_name}' is not an axis of the mesh "
                             f"{device_mesh.axis_names}.")
        self.device_mesh, self.batch_dim_name = device_mesh, batch_dim_name

    @property
    def mesh(self) -> Mesh:
        return self.device_mesh.mesh

    @property
    def batch_devices(self) -> int:
        """How many pieces a batch is cut into."""
        return self.device_mesh.shape[self.device_mesh.axis_names.index(self.batch_dim_name)]

    def variable_layout(self, path: str, shape: tuple) -> tuple:
        """The mesh axis each dimension of the variable at `path` is split along (None: not split)."""
        return (None,) * len(shape)

    def variable_sharding(self, path: str, shape: tuple) -> NamedSharding:
        layout = self.variable_layout(path, shape)
        _check_layout(self.device_mesh, path, shape, layout)
        while layout and layout[-1] is None:  # P(None,) and P() lay out alike but compile apart
            layout = layout[:-1]
        return NamedSharding(self.mesh, PartitionSpec(*layout))

    def batch_sharding(self, ndim: int, leading: int = 0) -> NamedSharding:
        """A batch array's sharding: split along its axis `leading` (0, or 1 under fit's stacked steps)."""
        spec = [None] * ndim
        if ndim > leading:
            spec[leading] = self.batch_dim_name
        return NamedSharding(self.mesh, PartitionSpec(*spec))

    def check_batch_size(self, batch_size: int) -> None:
        if batch_size % self.batch_devices:
            raise ValueError(
                f"{type(self).__name__}: the batch of {batch_size} samples does not split over the "
                f"{self.batch_devices} devices of mesh axis '{self.batch_dim_name}'; use a batch size that is a "
                f"multiple of {self.batch_devices}."
            )

    @contextlib.contextmanager
    def scope(self):
        """Within the block, `distribution()` is this one (models compiled here use it)."""
        global _current
        previous, _current = _current, self
        try:
            yield self
        finally:
            _current = previous


def _check_layout(mesh: DeviceMesh, path: str, shape: tuple, layout: tuple) -> None:
    if len(layout) != len(shape):
        raise ValueError(f"The layout {layout} of '{path}' names {len(layout)} dimensions; the variable has "
                         f"shape {shape}.")
    for dim, (size, axis) in enumerate(zip(shape, layout)):
        if axis is None:
            continue
        if axis not in mesh.axis_names:
            raise ValueError(f"The layout {layout} of '{path}' names the axis '{axis}', which the mesh "
                             f"{mesh.axis_names} does not have.")
        parts = mesh.shape[mesh.axis_names.index(axis)]
        if size % parts:
            raise ValueError(f"'{path}' (shape {shape}) cannot be split along dimension {dim} ({size}) over the "
                             f"{parts} devices of mesh axis '{axis}'.")


class DataParallel(Distribution):
    """Replicate every variable; split each batch over `devices` (default: all). MirroredStrategy's role."""

    def __init__(self, devices=None):
        devices = list(jax.devices() if devices is None else devices)
        super().__init__(DeviceMesh((len(devices),), ("batch",), devices), "batch")


class ModelParallel(Distribution):
    """Variables laid out by `layout_map` over `device_mesh`; batches split along `batch_dim_name`."""

    def __init__(self, device_mesh: DeviceMesh | None = None, layout_map: LayoutMap | None = None,
                 batch_dim_name: str = "batch"):
        device_mesh = device_mesh or (layout_map.device_mesh if layout_map is not None else None)
        if device_mesh is None:
            raise ValueError("ModelParallel needs a DeviceMesh (device_mesh=, or the layout map's).")
        super().__init__(device_mesh, batch_dim_name)
        self.layout_map = layout_map or LayoutMap(device_mesh)
        for pattern, layout in self.layout_map.items():
            unknown = [a for a in layout if a is not None and a not in device_mesh.axis_names]
            if unknown:
                raise ValueError(f"LayoutMap['{pattern}'] = {layout} names {unknown}, which the mesh "
                                 f"{device_mesh.axis_names} does not have.")

    def variable_layout(self, path: str, shape: tuple) -> tuple:
        return self.layout_map[path] or (None,) * len(shape)


class FSDP(Distribution):
    """Shard every variable of at least `min_size` elements along its largest dimension the devices divide;
    split batches over the same devices (ZeRO-3 / fully sharded data parallel)."""

    def __init__(self, axis: str = "data", devices=None, min_size: int = 1024):
        devices = list(jax.devices() if devices is None else devices)
        super().__init__(DeviceMesh((len(devices),), (axis,), devices), axis)
        self.min_size = min_size

    def variable_layout(self, path: str, shape: tuple) -> tuple:
        layout = [None] * len(shape)
        n = self.batch_devices
        if int(np.prod(shape, dtype=np.int64)) >= self.min_size:
            splittable = [d for d in range(len(shape)) if shape[d] % n == 0]
            if splittable:
                layout[max(splittable, key=lambda d: shape[d])] = self.batch_dim_name
        return tuple(layout)


_current: Distribution | None = None


def set_distribution(distribution: Distribution | None) -> None:
    """The distribution models compiled from now on use (None: one device)."""
    global _current
    if distribution is not None and not isinstance(distribution, Distribution):
        raise TypeError(f"set_distribution takes a DataParallel, ModelParallel or FSDP (or None); got "
                        f"{type(distribution).__name__}.")
    _current = distribution


def distribution() -> Distribution | None:
    """The distribution set by `set_distribution` or the enclosing `scope()`, else None."""
    return _current
