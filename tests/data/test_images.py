"""`image_dataset_from_directory` and `ImageFileSource`: listing, labels, decoding, splits, bad files."""

import os
import sys

import numpy as np
import pytest

from workbench.data.images import ImageFileSource, image_dataset_from_directory

Image = pytest.importorskip("PIL.Image")


def save(path, pixels, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path, format=fmt)
    return path


def solid(value, height=4, width=6, channels=3):
    return np.full((height, width, channels), value, dtype=np.uint8)


@pytest.fixture
def tree(tmp_path):
    """root/cats: 3 PNGs (one in a sub-folder, one with an upper-case suffix); root/dogs: 2 PNGs, 1 BMP, 1 GIF;
    plus a file that is not an image."""
    root = tmp_path / "pets"
    save(root / "cats" / "c0.png", solid(10))
    save(root / "cats" / "c1.PNG", solid(20))
    save(root / "cats" / "sub" / "c2.png", solid(30))
    save(root / "dogs" / "d0.png", solid(110))
    save(root / "dogs" / "d1.png", solid(120))
    save(root / "dogs" / "d2.bmp", solid(130))
    save(root / "dogs" / "d3.gif", solid(140))
    (root / "dogs" / "notes.txt").write_text("not an image")
    return root


def collect(ds):
    elements = list(ds)
    if elements and isinstance(elements[0], tuple):
        return [e[0] for e in elements], [e[1] for e in elements]
    return elements, None


def test_infers_one_class_per_sorted_subfolder(tree, capsys):
    ds = image_dataset_from_directory(tree, batch_size=None, shuffle=False, image_size=(4, 6))
    assert capsys.readouterr().out == "Found 7 files belonging to 2 classes.\n"
    assert ds.class_names == ["cats", "dogs"]
    names = [os.path.relpath(p, tree) for p in ds.file_paths]
    assert names == [
        "cats/c0.png", "cats/c1.PNG", "cats/sub/c2.png", "dogs/d0.png", "dogs/d1.png", "dogs/d2.bmp", "dogs/d3.gif",
    ]  # fmt: skip
    images, labels = collect(ds)
    assert [int(label) for label in labels] == [0, 0, 0, 1, 1, 1, 1]
    assert labels[0].dtype == np.int32
    assert images[0].shape == (4, 6, 3) and images[0].dtype == np.float32
    assert [float(im.mean()) for im in images] == [10, 20, 30, 110, 120, 130, 140]


def test_label_modes_and_batches(tree):
    common = dict(shuffle=False, image_size=(4, 6))
    images, labels = next(
        iter(image_dataset_from_directory(tree, label_mode="categorical", batch_size=4, **common))
    )
    assert images.shape == (4, 4, 6, 3) and labels.shape == (4, 2) and labels.dtype == np.float32
    np.testing.assert_array_equal(labels, [[1, 0], [1, 0], [1, 0], [0, 1]])
    _, labels = next(iter(image_dataset_from_directory(tree, label_mode="binary", batch_size=7, **common)))
    assert labels.dtype == np.float32
    np.testing.assert_array_equal(labels, [[0], [0], [0], [1], [1], [1], [1]])
    batch = next(iter(image_dataset_from_directory(tree, label_mode=None, batch_size=32, **common)))
    assert isinstance(batch, np.ndarray) and batch.shape == (7, 4, 6, 3)
    assert [b[0].shape[0] for b in image_dataset_from_directory(tree, batch_size=3, **common)] == [3, 3, 1]


def test_hidden_folders_are_not_classes(tree, capsys):
    save(tree / ".cache" / "h.png", solid(0))
    ds = image_dataset_from_directory(tree, seed=0)
    assert ds.class_names == ["cats", "dogs"] and len(ds.file_paths) == 7


def test_binary_needs_two_classes(tree):
    save(tree / "birds" / "b.png", solid(1))
    with pytest.raises(ValueError, match="binary' needs exactly 2 classes, got 3"):
        image_dataset_from_directory(tree, label_mode="binary")


def test_explicit_labels_follow_sorted_paths(tree, capsys):
    ds = image_dataset_from_directory(
        tree, labels=[1, 0, 1, 0, 1, 0, 1], batch_size=None, shuffle=False, image_size=4
    )
    assert "Found 7 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["0", "1"]
    images, labels = collect(ds)
    assert [int(label) for label in labels] == [1, 0, 1, 0, 1, 0, 1]
    assert [float(im.mean()) for im in images][:3] == [10, 20, 30]
    from_array = image_dataset_from_directory(tree, labels=np.array([1, 0, 1, 0, 1, 0, 1]), shuffle=False)
    assert from_array.class_names == ["0", "1"]
    with pytest.raises(ValueError, match="`labels` has 2 entries but .* holds 7 image files"):
        image_dataset_from_directory(tree, labels=[0, 1])
    with pytest.raises(ValueError, match="needs labels in \\[0, 2\\)"):
        image_dataset_from_directory(tree, labels=[0, 5, 0, 5, 0, 5, 0], label_mode="categorical")


def test_labels_none_gives_images_only(tree, capsys):
    ds = image_dataset_from_directory(tree, labels=None, batch_size=None, image_size=2, seed=0)
    assert capsys.readouterr().out == "Found 7 files.\n"
    assert ds.class_names is None
    assert all(isinstance(e, np.ndarray) and e.shape == (2, 2, 3) for e in ds)


def test_class_names_choose_and_order_classes(tree):
    ds = image_dataset_from_directory(
        tree, class_names=["dogs", "cats"], batch_size=None, shuffle=False, image_size=2
    )
    _, labels = collect(ds)
    assert [int(label) for label in labels] == [0, 0, 0, 0, 1, 1, 1]
    with pytest.raises(
        ValueError, match=r"`class_names` \['birds'\] must name sub-folders.*\['cats', 'dogs'\]"
    ):
        image_dataset_from_directory(tree, class_names=["birds"])
    with pytest.raises(ValueError, match="`class_names` only applies with labels='inferred'"):
        image_dataset_from_directory(tree, labels=[0] * 7, class_names=["cats"])


def test_color_modes(tmp_path):
    pixels = np.zeros((3, 3, 4), dtype=np.uint8)
    pixels[..., 0], pixels[..., 3] = 200, 50
    save(tmp_path / "a" / "x.png", pixels)
    expected = {"grayscale": 1, "rgb": 3, "rgba": 4}
    for mode, channels in expected.items():
        ds = image_dataset_from_directory(tmp_path, color_mode=mode, batch_size=None, image_size=3, seed=0)
        image, _ = next(iter(ds))
        assert image.shape == (3, 3, channels)
    np.testing.assert_array_equal(image[0, 0], [200, 0, 0, 50])


def test_resize_uses_named_interpolation(tmp_path):
    pixels = np.array([[0, 100, 200, 40], [20, 120, 220, 60], [0, 0, 255, 255], [0, 0, 255, 255]])
    path = save(tmp_path / "g.png", pixels)
    nearest = ImageFileSource(
        [str(path)], image_size=(8, 8), color_mode="grayscale", interpolation="nearest"
    )[0]
    np.testing.assert_array_equal(nearest[::2, ::2, 0], pixels)
    area = ImageFileSource([str(path)], image_size=(2, 2), color_mode="grayscale", interpolation="area")[0]
    np.testing.assert_allclose(area[..., 0], [[60, 130], [0, 255]], atol=1e-3)
    bilinear = ImageFileSource([str(path)], image_size=(8, 8), color_mode="grayscale")[0]
    np.testing.assert_allclose(bilinear[0, :4, 0], [0, 25, 75, 125], atol=1e-3)


def test_crop_to_aspect_ratio_takes_the_centered_window(tmp_path):
    path = save(tmp_path / "wide.png", np.array([[0, 0, 100, 200, 0, 0]] * 2))
    kwargs = dict(image_size=(2, 2), color_mode="grayscale", interpolation="nearest")
    cropped = ImageFileSource([str(path)], crop_to_aspect_ratio=True, **kwargs)[0]
    np.testing.assert_array_equal(cropped[..., 0], [[100, 200], [100, 200]])
    squeezed = ImageFileSource([str(path)], **kwargs)[0]
    np.testing.assert_array_equal(squeezed[..., 0], [[0, 0], [0, 0]])


def test_validation_split_is_disjoint_and_covers_all(tree, capsys):
    kwargs = dict(validation_split=0.3, seed=7, batch_size=None, image_size=2)
    train = image_dataset_from_directory(tree, subset="training", **kwargs)
    assert capsys.readouterr().out.splitlines() == [
        "Found 7 files belonging to 2 classes.",
        "Using 5 files for training.",
    ]
    val = image_dataset_from_directory(tree, subset="validation", **kwargs)
    assert capsys.readouterr().out.splitlines()[-1] == "Using 2 files for validation."
    assert not set(train.file_paths) & set(val.file_paths)
    assert len(set(train.file_paths) | set(val.file_paths)) == 7
    both = image_dataset_from_directory(tree, subset="both", **kwargs)
    assert isinstance(both, tuple) and len(both) == 2
    assert both[0].file_paths == train.file_paths and both[1].file_paths == val.file_paths
    assert len(list(both[0])) == 5 and len(list(both[1])) == 2


def test_seeded_file_shuffle_is_keras_order(tree):
    ordered = image_dataset_from_directory(tree, shuffle=False, batch_size=None).file_paths
    first = image_dataset_from_directory(tree, seed=42, batch_size=None).file_paths
    expected = list(ordered)
    np.random.RandomState(42).shuffle(expected)
    assert first == expected
    assert image_dataset_from_directory(tree, seed=43, batch_size=None).file_paths != first


def test_shuffled_batches_repeat_with_a_seed(tree):
    def means(seed):
        ds = image_dataset_from_directory(tree, seed=seed, batch_size=3, image_size=2)
        return [[float(im.mean()) for im in images] for images, _ in ds]

    assert means(5) == means(5)
    assert sorted(sum(means(5), [])) == [10, 20, 30, 110, 120, 130, 140]


def test_split_argument_errors(tree):
    with pytest.raises(ValueError, match="pass a `seed`"):
        image_dataset_from_directory(tree, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="set both or neither"):
        image_dataset_from_directory(tree, subset="training", seed=1)
    with pytest.raises(ValueError, match="set both or neither"):
        image_dataset_from_directory(tree, validation_split=0.2, seed=1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        image_dataset_from_directory(tree, validation_split=1.5, subset="training", seed=1)
    with pytest.raises(ValueError, match="`subset` must be 'training', 'validation' or 'both'"):
        image_dataset_from_directory(tree, validation_split=0.2, subset="test", seed=1)
    with pytest.raises(ValueError, match="No validation images found"):
        image_dataset_from_directory(tree, validation_split=0.1, subset="validation", seed=1)


def test_bad_argument_errors(tree):
    cases = [
        (ValueError, "`color_mode` must be one of", dict(color_mode="cmyk")),
        (ValueError, "`label_mode` must be", dict(label_mode="sparse")),
        (ValueError, "`labels` must be 'inferred'", dict(labels="folders")),
        (TypeError, "`labels` must be 'inferred', None, or a list/tuple", dict(labels=3)),
        (TypeError, "`labels` must hold ints", dict(labels=["a"] * 7)),
        (ValueError, "`image_size` must be", dict(image_size=(2, 2, 3))),
        (ValueError, "`batch_size` must be a positive int", dict(batch_size=0)),
        (ValueError, "`on_error` must be 'warn' or 'raise'", dict(on_error="ignore")),
        (TypeError, "`seed` must be an int", dict(seed="1")),
        (ValueError, "lanczos5.*no Pillow filter", dict(interpolation="lanczos5")),
        (TypeError, "`class_names` must be a list", dict(class_names="cats")),
        (TypeError, "`shuffle` must be True or False", dict(shuffle="yes")),
        (TypeError, "`directory` must be a path", dict(directory=3)),
    ]
    for error, message, kwargs in cases:
        with pytest.raises(error, match=message):
            image_dataset_from_directory(**{"directory": tree, **kwargs})


def test_missing_or_empty_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such directory.*nowhere"):
        image_dataset_from_directory(tmp_path / "nowhere")
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    (tmp_path / "empty" / "cls" / "a.txt").write_text("x")
    with pytest.raises(ValueError, match=r"No images found in directory .*empty.*'\.bmp', '\.gif'"):
        image_dataset_from_directory(tmp_path / "empty")
    with pytest.raises(NotADirectoryError, match="a.txt"):
        image_dataset_from_directory(tmp_path / "empty" / "cls" / "a.txt")


def test_follow_links(tree, tmp_path):
    save(tmp_path / "elsewhere" / "e.png", solid(1))
    os.symlink(tmp_path / "elsewhere", tree / "cats" / "linked")
    assert len(image_dataset_from_directory(tree, shuffle=False).file_paths) == 7
    assert len(image_dataset_from_directory(tree, shuffle=False, follow_links=True).file_paths) == 8


@pytest.fixture
def broken(tree):
    rng = np.random.default_rng(0)
    (tree / "cats" / "corrupt.jpg").write_bytes(rng.integers(0, 256, 300, dtype=np.uint8).tobytes())
    whole = save(tree / "whole.png", rng.integers(0, 256, (32, 32, 3)))
    (tree / "dogs" / "truncated.png").write_bytes(whole.read_bytes()[:200])
    whole.unlink()
    return tree


def test_on_error_warn_skips_undecodable_files(broken):
    ds = image_dataset_from_directory(broken, batch_size=None, shuffle=False, image_size=2)
    assert len(ds.file_paths) == 9
    with pytest.warns(UserWarning) as record:
        images, _ = collect(ds)
    messages = " ".join(str(w.message) for w in record)
    assert "corrupt.jpg" in messages and "truncated.png" in messages and "cannot decode" in messages
    assert sorted(float(im.mean()) for im in images) == [10, 20, 30, 110, 120, 130, 140]


def test_on_error_raise_names_the_file(broken):
    ds = image_dataset_from_directory(broken, batch_size=2, shuffle=False, image_size=2, on_error="raise")
    with pytest.raises(ValueError, match="Cannot decode '.*corrupt.jpg' as an image"):
        list(ds)


def test_source_returns_none_or_raises_per_file(broken):
    paths = [str(broken / "cats" / "c0.png"), str(broken / "dogs" / "truncated.png")]
    source = ImageFileSource(paths, labels=np.array([0, 1], np.int32), image_size=(2, 2))
    assert source.skips and len(source) == 2
    image, label = source[0]
    assert image.shape == (2, 2, 3) and label == 0
    with pytest.warns(UserWarning, match="truncated.png"):
        assert source[1] is None
    strict = ImageFileSource(paths, image_size=(2, 2), on_error="raise")
    assert not strict.skips
    with pytest.raises(ValueError, match="Cannot decode '.*truncated.png'"):
        strict[1]
    with pytest.raises(ValueError, match="Got 1 labels for 2 files"):
        ImageFileSource(paths, labels=np.array([0]))


def test_missing_pillow_says_how_to_install(tree, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(ImportError, match="pip install pillow"):
        image_dataset_from_directory(tree)
