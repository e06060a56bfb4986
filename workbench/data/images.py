"""Image classification datasets from a folder of class sub-folders, as Keras builds them.

>>> train, val = image_dataset_from_directory(  # doctest: +SKIP
...     "flowers/", image_size=(180, 180), validation_split=0.2, subset="both", seed=0)
Found 3670 files belonging to 5 classes.
Using 2936 files for training.
Using 734 files for validation.

Files are listed, labelled, shuffled and split exactly as Keras 3 does, so a
seed gives the same training/validation files as `keras.utils.image_dataset_from_directory`.
Images are decoded with Pillow only when read, one file per element.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from workbench.data.dataset import Dataset

__all__ = ["ALLOWED_FORMATS", "ImageFileSource", "image_dataset_from_directory"]

ALLOWED_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

# Keras' interpolation names -> Pillow filters. "area" averages the covered pixels, which is Pillow's box filter.
_PILLOW_FILTERS = {
    "nearest": "NEAREST",
    "bilinear": "BILINEAR",
    "bicubic": "BICUBIC",
    "area": "BOX",
    "lanczos3": "LANCZOS",
}
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def _pillow():
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError("Reading images needs Pillow, which is not installed: pip install pillow") from err
    return Image


def _resize(pixels: np.ndarray, size: tuple[int, int], resample, crop_to_aspect_ratio: bool) -> np.ndarray:
    """Resize an (h, w, c) float32 image to `size`, first center-cropping to its aspect ratio if asked."""
    height, width = pixels.shape[:2]
    target_height, target_width = size
    box = (0, 0, width, height)
    if crop_to_aspect_ratio:  # the largest centered window with the target's aspect ratio, as Keras finds it
        crop_height = max(min(height, int(width * target_height / target_width)), 1)
        crop_width = max(min(width, int(height * target_width / target_height)), 1)
        top, left = (height - crop_height) // 2, (width - crop_width) // 2
        box = (left, top, left + crop_width, top + crop_height)
    if (height, width) == (target_height, target_width) and box == (0, 0, width, height):
        return pixels
    # Resizing each channel as a 32-bit float image keeps the fractional values Keras' float resize gives.
    image_module = _pillow()
    channels = [
        np.asarray(
            image_module.fromarray(np.ascontiguousarray(pixels[:, :, c])).resize(
                (target_width, target_height), resample, box=box
            )
        )
        for c in range(pixels.shape[2])
    ]
    return np.stack(channels, axis=-1)


class ImageFileSource:
    """Image files, each decoded and resized with Pillow when read.

    The element is a float32 `(height, width, channels)` image, or
    `(image, label)` when `labels` (one row per file) is given. A file that
    cannot be decoded is skipped with a warning (`on_error="warn"`: the
    element is None, so build the dataset with `skips=True`) or raises a
    ValueError naming it (`on_error="raise"`).
    """

    def __init__(
        self,
        paths: list[str],
        labels: np.ndarray | None = None,
        image_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = False,
        on_error: str = "warn",
    ):
        image_module = _pillow()
        if color_mode not in _CHANNELS:
            raise ValueError(f"`color_mode` must be one of {tuple(_CHANNELS)}, got {color_mode!r}.")
        if interpolation not in _PILLOW_FILTERS:
            raise ValueError(
                f"`interpolation` must be one of {tuple(_PILLOW_FILTERS)}, got {interpolation!r}."
            )
        if on_error not in ("warn", "raise"):
            raise ValueError(f"`on_error` must be 'warn' or 'raise', got {on_error!r}.")
        if labels is not None and len(labels) != len(paths):
            raise ValueError(f"Got {len(labels)} labels for {len(paths)} files; give one label per file.")
        self.paths = list(paths)
        self.labels = labels
        self.image_size = _check_image_size(image_size)
        self.color_mode = color_mode
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.on_error = on_error
        self._resample = getattr(image_module.Resampling, _PILLOW_FILTERS[interpolation])

    @property
    def skips(self) -> bool:
        """Whether `__getitem__` may return None for a file it could not decode."""
        return self.on_error == "warn"

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        path = self.paths[index]
        try:
            image = self._decode(path)
        except (
            Exception
        ) as err:  # decoders raise many types: OSError, SyntaxError, ValueError, EOFError, zlib.error
            if self.on_error == "raise":
                raise ValueError(f"Cannot decode {path!r} as an image: {type(err).__name__}: {err}") from err
            warnings.warn(
                f"Skipping {path!r}: cannot decode it as an image ({type(err).__name__}: {err}).",
                stacklevel=2,
            )
            return None
        return image if self.labels is None else (image, self.labels[index])

    def _decode(self, path: str) -> np.ndarray:
        with _pillow().open(path) as image:
            image.load()  # decode now, so that a truncated file fails here and not later
            # Grayscale keeps 16- and 32-bit values as they are, as Keras does; other modes are converted.
            if self.color_mode == "grayscale" and image.mode not in ("L", "I;16", "I"):
                image = image.convert("L")
            elif self.color_mode == "rgb" and image.mode != "RGB":
                image = image.convert("RGB")
            elif self.color_mode == "rgba" and image.mode != "RGBA":
                image = image.convert("RGBA")
            pixels = np.asarray(image, dtype=np.float32)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        return _resize(pixels, self.image_size, self._resample, self.crop_to_aspect_ratio)


def _check_image_size(image_size) -> tuple[int, int]:
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if not (
        isinstance(image_size, (list, tuple))
        and len(image_size) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in image_size)
    ):
        raise ValueError(f"`image_size` must be (height, width), two positive ints, got {image_size!r}.")
    return tuple(image_size)


def _walk_images(directory: str, follow_links: bool) -> list[str]:
    """Image files under `directory`, folders and then names in sorted order (Keras' order)."""
    files = []
    for root, _, names in sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0]):
        files.extend(
            os.path.join(root, name) for name in sorted(names) if name.lower().endswith(ALLOWED_FORMATS)
        )
    return files


def _index_directory(directory: str, labels, class_names, shuffle: bool, seed: int, follow_links: bool):
    """List the image files with their int labels and class names, as Keras' `index_directory` does."""
    if labels == "inferred":
        subdirs = [
            name
            for name in sorted(os.listdir(directory))
            if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")
        ]
        if class_names is not None:
            if not set(class_names) <= set(subdirs):
                raise ValueError(
                    f"`class_names` {list(class_names)} must name sub-folders of {directory!r}, which are {subdirs}."
                )
            subdirs = list(class_names)
        paths, label_values = [], []
        for index, subdir in enumerate(subdirs):
            found = _walk_images(os.path.join(directory, subdir), follow_links)
            paths += found
            label_values += [index] * len(found)
        class_names = subdirs
    else:
        paths = _walk_images(directory, follow_links)
        label_values = None if labels is None else list(labels)
        if label_values is not None and len(label_values) != len(paths):
            raise ValueError(
                f"`labels` has {len(label_values)} entries but {directory!r} holds {len(paths)} image files; "
                "give one label per file, in sorted path order."
            )
        class_names = None if labels is None else [str(label) for label in sorted(set(label_values))]
    if label_values is None:
        print(f"Found {len(paths)} files.")
    else:
        print(f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    if shuffle:  # shuffle paths and labels with the same permutation, as Keras does
        np.random.RandomState(seed).shuffle(paths)
        if label_values is not None:
            np.random.RandomState(seed).shuffle(label_values)
    return paths, label_values, class_names


def _split(paths: list[str], labels, validation_split: float | None, subset: str | None):
    """Keep the training (first) or validation (last `validation_split`) part of the shuffled files."""
    if not validation_split:
        return paths, labels
    num_validation = int(validation_split * len(paths))
    cut = len(paths) - num_validation
    if subset == "training":
        print(f"Using {cut} files for training.")
        keep = slice(None, cut)
    else:
        print(f"Using {num_validation} files for validation.")
        keep = slice(cut, None)
    return paths[keep], (None if labels is None else labels[keep])


def _encode_labels(labels: list[int], label_mode: str, num_classes: int) -> np.ndarray:
    values = np.asarray(labels, dtype=np.int64)
    if label_mode == "int":
        return values.astype(np.int32)
    if label_mode == "binary":
        if values.size and not np.isin(values, (0, 1)).all():
            raise ValueError(f"label_mode='binary' needs labels 0 or 1, got {sorted(set(labels))}.")
        return values.astype(np.float32)[:, None]
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        raise ValueError(
            f"label_mode='categorical' needs labels in [0, {num_classes}) for {num_classes} classes, "
            f"got {sorted(set(labels))}."
        )
    return np.eye(num_classes, dtype=np.float32)[values]


def image_dataset_from_directory(
    directory: str | os.PathLike,
    labels="inferred",
    label_mode: str | None = "int",
    class_names: list[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    on_error: str = "warn",
) -> Dataset | tuple[Dataset, Dataset]:
    """A dataset of images (and labels) from `directory`, with the arguments of Keras 3's function.

    With `labels="inferred"` each sub-folder is a class, in sorted order (or the
    order of `class_names`); `labels` may instead be a list of int labels, one per
    image file in sorted path order, or None. Labels are int32 (`"int"`), one-hot
    float32 (`"categorical"`) or float32 of shape (1,) (`"binary"`); `label_mode=None`
    yields images only. Images are float32 `(height, width, channels)` with 1, 3 or 4
    channels for `color_mode` "grayscale", "rgb" or "rgba", resized to `image_size` with
    `interpolation` ("bilinear", "nearest", "bicubic", "area", "lanczos3"), first
    center-cropped to the target aspect ratio when `crop_to_aspect_ratio`. Only
    .bmp .gif .jpeg .jpg .png files are read. `validation_split` with `subset`
    ("training", "validation" or "both", which returns both datasets) splits the
    files after they are shuffled with `seed`, so the two subsets never overlap.
    Elements are shuffled (buffer of 8 batches) when `shuffle`, and batched by
    `batch_size` unless it is None. Files Pillow cannot decode are skipped with a
    warning (`on_error="warn"`) or raise a ValueError (`on_error="raise"`).
    The dataset has `class_names` and `file_paths` attributes.

    >>> ds = image_dataset_from_directory("pets/", image_size=(64, 64), batch_size=8, seed=1)  # doctest: +SKIP
    Found 20 files belonging to 2 classes.
    >>> images, labels = next(iter(ds))  # doctest: +SKIP
    >>> images.shape, labels.shape  # doctest: +SKIP
    ((8, 64, 64, 3), (8,))
    """
    _pillow()
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"`directory` must be a path (str or os.PathLike), got {type(directory).__name__}.")
    directory = os.fspath(directory)
    if not os.path.exists(directory):
        raise FileNotFoundError(f"No such directory: {directory!r}.")
    if not os.path.isdir(directory):
        raise NotADirectoryError(f"`directory` must be a folder of images, got the file {directory!r}.")
    for name, flag in (
        ("shuffle", shuffle),
        ("follow_links", follow_links),
        ("crop_to_aspect_ratio", crop_to_aspect_ratio),
    ):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"`{name}` must be True or False, got {type(flag).__name__}: {flag!r}.")
    if isinstance(labels, np.ndarray) and labels.ndim == 1:
        labels = labels.tolist()
    if isinstance(labels, str):
        if labels != "inferred":
            raise ValueError(f"`labels` must be 'inferred', None, or a list of int labels, got {labels!r}.")
    elif labels is not None:
        if not isinstance(labels, (list, tuple)):
            raise TypeError(
                f"`labels` must be 'inferred', None, or a list/tuple of int labels, got {type(labels).__name__}."
            )
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels):
            raise TypeError("`labels` must hold ints (one class index per image file).")
    if class_names is not None:
        if labels != "inferred":
            raise ValueError(
                "`class_names` only applies with labels='inferred' (class names are then the folder names); "
                f"got labels={'None' if labels is None else 'a list'}."
            )
        if not isinstance(class_names, (list, tuple)) or not all(isinstance(c, str) for c in class_names):
            raise TypeError(f"`class_names` must be a list of sub-folder names, got {class_names!r}.")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"`label_mode` must be 'int', 'categorical', 'binary' or None, got {label_mode!r}.")
    if labels is None or label_mode is None:
        labels = label_mode = None
    if color_mode not in _CHANNELS:
        raise ValueError(f"`color_mode` must be one of {tuple(_CHANNELS)}, got {color_mode!r}.")
    if batch_size is not None and (
        not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1
    ):
        raise ValueError(f"`batch_size` must be a positive int or None, got {batch_size!r}.")
    image_size = _check_image_size(image_size)
    interpolation = interpolation.lower() if isinstance(interpolation, str) else interpolation
    if interpolation not in _PILLOW_FILTERS:
        keras_only = " ('lanczos5', 'gaussian' and 'mitchellcubic' have no Pillow filter)"
        raise ValueError(
            f"`interpolation` must be one of {tuple(_PILLOW_FILTERS)}{keras_only}, got {interpolation!r}."
        )
    if on_error not in ("warn", "raise"):
        raise ValueError(f"`on_error` must be 'warn' or 'raise', got {on_error!r}.")
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
        raise TypeError(f"`seed` must be an int or None, got {type(seed).__name__}: {seed!r}.")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, got {validation_split!r}.")
    if bool(validation_split) != bool(subset):
        raise ValueError(
            "`validation_split` and `subset` go together: set both or neither; "
            f"got validation_split={validation_split!r}, subset={subset!r}."
        )
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f"`subset` must be 'training', 'validation' or 'both', got {subset!r}.")
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "With `validation_split` and shuffle=True, pass a `seed`, so that the training and validation "
            "subsets are drawn from the same shuffle and do not overlap."
        )

    if seed is None:  # drawn from NumPy's global generator, as Keras does, so np.random.seed repeats it
        seed = np.random.randint(1_000_000)
    paths, label_values, class_names = _index_directory(
        directory, labels, class_names, shuffle, seed, follow_links
    )
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(
            f"label_mode='binary' needs exactly 2 classes, got {len(class_names)}: {class_names}."
        )
    encoded = None if label_mode is None else _encode_labels(label_values, label_mode, len(class_names))

    def build(subset_name: str | None, shuffle_elements: bool):
        from workbench.data.dataset import Dataset

        subset_paths, subset_labels = _split(paths, encoded, validation_split, subset_name)
        if not subset_paths:
            which = f"{subset_name} " if subset_name else ""
            raise ValueError(
                f"No {which}images found in directory {directory!r}. Allowed formats: {ALLOWED_FORMATS}"
            )
        source = ImageFileSource(
            subset_paths, subset_labels, image_size, color_mode, interpolation, crop_to_aspect_ratio, on_error
        )
        dataset = Dataset._from_source(source, skips=source.skips, threads=-1)
        if shuffle_elements:
            dataset = dataset.shuffle(buffer_size=batch_size * 8 if batch_size else 1024, seed=seed)
        if batch_size is not None:
            dataset = dataset.batch(batch_size)
        dataset.class_names = class_names
        dataset.file_paths = subset_paths
        return dataset

    if subset == "both":  # Keras shuffles the training elements only
        return build("training", shuffle), build("validation", False)
    return build(subset, shuffle)
