"""Export -> load: outputs, the manifest, input checks, and refusing damaged or foreign artifacts."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

import workbench as wb
import workbench.export as wx
from workbench.export import integrity

# A subclassed model in its own module: the fresh process that loads its artifact cannot import it.
MODEL_SOURCE = textwrap.dedent('''
    import workbench as wb

    class TwoHeads(wb.Model):
        def __init__(self):
            super().__init__(name="two_heads")
            self.body = wb.layers.Dense(16, activation="gelu")
            self.norm = wb.layers.LayerNormalization()
            self.scores = wb.layers.Dense(3)
            self.value = wb.layers.Dense(1)

        def call(self, x):
            h = self.norm(self.body(x))
            return {"scores": self.scores(h), "value": self.value(h)}
''')

LOADER = textwrap.dedent('''
    import pickle, sys
    def refuse(*a, **k):
        raise AssertionError("pickle used while loading an artifact")
    pickle.load = pickle.loads = refuse
    pickle.Unpickler = refuse
    import numpy as np
    import workbench.export as wx
    art = wx.load(sys.argv[1])
    assert "exported_model" not in sys.modules
    for n in (1, 7, 64):
        x = np.load(f"{sys.argv[2]}/x{n}.npy")
        out = art(x)
        for key in ("scores", "value"):
            np.save(f"{sys.argv[2]}/{key}{n}.npy", np.asarray(out[key]))
    print("loaded", sorted(art.signatures), art.signatures["serving_default"].inputs)
''')


def _dense_model(width=8):
    inp = wb.Input((4,), name="features")
    h = wb.layers.Dense(width, activation="relu", name="hidden")(inp)
    out = wb.layers.Dense(3, name="logits")(h)
    return wb.Model(inp, out, name="mlp")


def test_fresh_process_without_the_model_code_matches_the_model(tmp_path, monkeypatch):
    (tmp_path / "exported_model.py").write_text(MODEL_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    from exported_model import TwoHeads

    model = TwoHeads()
    model(np.zeros((2, 6), "float32"))
    path = model.export(tmp_path / "artifact")
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(1)
    for n in (1, 7, 64):
        np.save(data / f"x{n}.npy", rng.standard_normal((n, 6)).astype("float32"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(Path(wb.__file__).parents[1])
    done = subprocess.run([sys.executable, "-c", LOADER, str(path), str(data)], cwd=tmp_path / "data",
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "serving_default" in done.stdout
    for n in (1, 7, 64):
        want = model(np.load(data / f"x{n}.npy"))
        for key in ("scores", "value"):
            np.testing.assert_allclose(np.load(data / f"{key}{n}.npy"), np.asarray(want[key]), atol=1e-6, rtol=0)


def test_manifest_describes_signatures_platforms_versions_and_files(tmp_path):
    model = _dense_model()
    path = model.export(tmp_path / "a")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == "workbench.artifact/1"
    sig = manifest["signatures"]["serving_default"]
    assert sig["inputs"] == [{"name": "features", "dtype": "float32", "shape": ["batch", 4]}]
    assert sig["outputs"] == [{"name": "logits", "dtype": "float32", "shape": ["batch", 3]}]
    assert manifest["platforms"] == ["cpu", "cuda", "tpu"]
    assert manifest["versions"]["jax"] == jax.__version__
    listed = set(manifest["files"])
    on_disk = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
    assert listed == on_disk - {"manifest.json", "manifest.sha256"}
    assert {"weights.safetensors", "programs/serving_default.jaxexport", "golden/serving_default.safetensors",
            "model.json"} <= listed
    rebuilt = wb.models.model_from_json((path / "model.json").read_text())
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]


def test_weights_are_program_arguments_not_constants(tmp_path):
    model = _dense_model(width=2048)  # 4*2048 + 2048*3 weights: far more bytes than the program
    path = model.export(tmp_path / "a", platforms="cpu")
    program = (path / "programs/serving_default.jaxexport").stat().st_size
    weights = (path / "weights.safetensors").stat().st_size
    assert weights > 60_000 and program < weights / 4
    art = wx.load(path)
    exported = art.signatures["serving_default"]._exported
    assert len(exported.in_avals) == len(model.weights) + 1
    # Other weights of the same shapes through the same program give the other model's outputs.
    other = _dense_model(width=2048)
    x = np.ones((2, 4), "float32")
    from workbench.export.programs import flat_weights

    got = jax.jit(exported.call)([w for _, w in flat_weights(other)], x)[0]
    np.testing.assert_allclose(got, other(x), atol=1e-6)


def test_export_into_the_run_records_provenance(tmp_path):
    wb.utils.set_random_seed(5)
    x = np.random.rand(48, 4).astype("float32")
    y = (x[:, 0] > 0.5).astype("int32")
    model = _dense_model()
    model.compile("adam", wb.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, run_dir=tmp_path / "run")
    first, second = model.export(), model.export()
    assert first == tmp_path / "run" / "artifacts" / "1" and second.name == "2"
    prov = wx.load(first).manifest["provenance"]
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert prov["run_id"] == run["id"]
    assert prov["data"]["sha256"] == run["data"]["sha256"]
    assert prov["seed"] == run["hparams"]["seed"]
    assert set(prov["metrics"]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert prov["metrics"]["val_loss"] == pytest.approx(model.history.history["val_loss"][-1], rel=1e-6)
    assert "commit" in (prov["git"] or {"commit": None})


def test_export_without_a_run_needs_a_path():
    with pytest.raises(ValueError, match="needs a path"):
        _dense_model().export()


def test_existing_folders_are_never_overwritten_by_accident(tmp_path):
    model = _dense_model()
    path = model.export(tmp_path / "a")
    before = (path / "manifest.json").read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.export(path)
    assert (path / "manifest.json").read_bytes() == before
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="no artifact"):
        model.export(tmp_path / "notes", overwrite=True)
    assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"
    model.export(path, overwrite=True)
    wx.load(path)


def test_a_failing_export_leaves_nothing_behind(tmp_path):
    def broken(model, x):
        raise RuntimeError("this signature cannot be traced")

    with pytest.raises(RuntimeError, match="cannot be traced"):
        _dense_model().export(tmp_path / "a", signatures={"serving_default": wx.Signature(fn=broken)})
    assert list(tmp_path.iterdir()) == []


def test_custom_signatures_assets_and_fixed_batch(tmp_path):
    model = _dense_model()
    path = model.export(
        tmp_path / "a",
        signatures={
            "serving_default": wx.Signature(),
            "probabilities": wx.Signature(fn=lambda m, x: jax.nn.softmax(m(x)), output_names=["probs"]),
            "pair": wx.Signature(
                inputs={"a": wx.TensorSpec((None, 4)), "b": wx.TensorSpec((None, 4))},
                fn=lambda m, a, b: {"sum": m(a) + m(b), "first": m(a)},
            ),
        },
        batch=4,
        assets={"labels.txt": "cat\ndog\nbird\n"},
    )
    art = wx.load(path)
    x = np.random.rand(4, 4).astype("float32")
    np.testing.assert_allclose(art.probabilities(x), jax.nn.softmax(model(x)), atol=1e-6)
    out = art.signatures["pair"](a=x, b=2 * x)
    np.testing.assert_allclose(out["sum"], model(x) + model(2 * x), atol=1e-5)
    assert (path / "assets" / "labels.txt").read_text() == "cat\ndog\nbird\n"
    assert "assets/labels.txt" in art.manifest["files"]
    with pytest.raises(wx.InputError, match=r"axis 0 must be 4"):
        art(np.ones((3, 4), "float32"))


def test_inputs_are_checked_by_name_dtype_and_shape(tmp_path):
    model = _dense_model()
    art = wx.load(model.export(tmp_path / "a",
                               signatures={"ids": wx.Signature(inputs=wx.TensorSpec((None, 4), "int32", "ids"),
                                                               fn=lambda m, ids: m(ids.astype("float32"))),
                                           "serving_default": wx.Signature()}))
    with pytest.raises(wx.InputError, match=r"input 'features': expected rank 2 \(batch, 4\), got shape \(4,\)"):
        art(np.ones(4, "float32"))
    with pytest.raises(wx.InputError, match=r"axis 1 must be 4"):
        art(features=np.ones((2, 5), "float32"))
    with pytest.raises(wx.InputError, match=r"has no input\(s\) \['x'\]; its inputs are \['features'\]"):
        art(x=np.ones((2, 4), "float32"))
    with pytest.raises(wx.InputError, match=r"missing input\(s\) \['features'\]"):
        art()
    with pytest.raises(wx.InputError, match="expected dtype int32, got float32"):
        art.ids(np.ones((2, 4), "float32"))
    with pytest.raises(wx.InputError, match="NumPy cannot read as an array"):
        art([[1.0, 2.0], [3.0]])
    with pytest.raises(wx.InputError, match="size 0"):
        art(np.ones((0, 4), "float32"))
    # Python lists and float64 are what JSON and NumPy give: converted, not refused.
    np.testing.assert_allclose(art([[1, 2, 3, 4]]), model(np.array([[1, 2, 3, 4]], "float32")), atol=1e-6)
    np.testing.assert_allclose(art.ids(np.ones((1, 4), "int64")), model(np.ones((1, 4), "float32")), atol=1e-6)


def test_shared_symbolic_sizes_must_agree(tmp_path):
    spec = {"a": wx.TensorSpec((None, "n")), "b": wx.TensorSpec((None, "n"))}
    art = wx.load(_dense_model().export(tmp_path / "a", signatures={
        "serving_default": wx.Signature(inputs=spec, fn=lambda m, a, b: (a * b).sum(-1))}))
    assert art.signatures["serving_default"].inputs[0].shape == (None, None)
    out = art(a=np.ones((2, 5), "float32"), b=np.full((2, 5), 2.0, "float32"))
    np.testing.assert_allclose(out, [10.0, 10.0])
    with pytest.raises(wx.InputError, match=r"'n' is 5 in input 'a' but 6 in input 'b'"):
        art(a=np.ones((2, 5), "float32"), b=np.zeros((2, 6), "float32"))


def _artifact_files(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("exported") / "a"
    _dense_model().export(path, assets={"vocab.txt": "a\nb\n"})
    return path


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_any_damaged_file_is_refused_before_anything_runs(exported, tmp_path, monkeypatch, damage):
    import shutil

    def never(*a, **k):
        raise AssertionError("a program was deserialised from a damaged artifact")

    monkeypatch.setattr(jax.export, "deserialize", never)
    files = _artifact_files(exported)
    assert len(files) >= 7
    for rel in files:
        copy = tmp_path / f"{damage}-{rel.replace('/', '_')}"
        shutil.copytree(exported, copy)
        data = bytearray((copy / rel).read_bytes())
        if damage == "flip":
            data[len(data) // 2] ^= 0x01
        else:
            data = data[: len(data) - max(1, len(data) // 3)]
        (copy / rel).write_bytes(bytes(data))
        with pytest.raises(wx.ArtifactError) as err:
            wx.load(copy)
        assert Path(rel).name in str(err.value), (rel, str(err.value))


def test_a_missing_file_is_named(exported, tmp_path):
    import shutil

    copy = tmp_path / "a"
    shutil.copytree(exported, copy)
    (copy / "weights.safetensors").unlink()
    with pytest.raises(wx.ArtifactError, match=r"weights.safetensors is missing"):
        wx.load(copy)


def _rewrite_manifest(path: Path, change) -> None:
    manifest = json.loads((path / "manifest.json").read_text())
    change(manifest)
    integrity.write_manifest(path, manifest)


def test_a_newer_format_or_program_version_is_refused_with_the_reason(exported, tmp_path):
    import shutil

    newer = tmp_path / "newer"
    shutil.copytree(exported, newer)
    _rewrite_manifest(newer, lambda m: m.update(format="workbench.artifact/2"))
    with pytest.raises(wx.ArtifactError, match=r"artifact/2 artifact; this version of workbench reads .*artifact/1"):
        wx.load(newer)
    future = tmp_path / "future"
    shutil.copytree(exported, future)
    _rewrite_manifest(future, lambda m: m["signatures"]["serving_default"].update(calling_convention_version=99))
    with pytest.raises(wx.ArtifactError, match=r"calling convention 99"):
        wx.load(future)
    elsewhere = tmp_path / "tpu-only"
    shutil.copytree(exported, elsewhere)
    _rewrite_manifest(elsewhere, lambda m: m.update(platforms=["tpu"]))
    with pytest.raises(wx.ArtifactError, match=r"exported for \['tpu'\], not for this machine's cpu"):
        wx.load(elsewhere)


def test_verify_replays_the_golden_vectors(exported, tmp_path, capsys):
    import shutil

    from workbench.cli import main
    from workbench.export.golden import read_golden, write_golden

    assert main(["export", "verify", str(exported)]) == 0
    assert "golden rows replayed" in capsys.readouterr().out
    wrong = tmp_path / "wrong"
    shutil.copytree(exported, wrong)
    golden = wrong / "golden/serving_default.safetensors"
    inputs, outputs = read_golden(golden)
    write_golden(golden, inputs, {k: v + 1e-2 for k, v in outputs.items()})
    _rewrite_manifest(wrong, lambda m: m.update(files=integrity.file_table(wrong)))
    assert main(["export", "verify", str(wrong)]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "differs from the golden vectors by up to 0.01" in err
    (wrong / "weights.safetensors").write_bytes(b"")
    assert main(["export", "verify", str(wrong)]) == 1
    assert "weights.safetensors is 0 bytes" in capsys.readouterr().err


def test_export_show_prints_the_signatures(exported, capsys):
    from workbench.cli import main

    assert main(["export", "show", str(exported)]) == 0
    out = capsys.readouterr().out
    assert "serving_default (default)" in out and "in  features: float32[batch, 4]" in out


def test_signatures_read_well_when_printed(exported):
    shown = repr(wx.load(exported).signatures)
    assert shown == ("{'serving_default': <Signature serving_default(features: float32[batch, 4]) -> "
                     "(logits: float32[batch, 3])>}"), shown


def test_programs_are_traced_in_portable_mode(tmp_path):
    from workbench.core import context

    seen = []

    def probe(model, x):
        seen.append(context.portable())
        return model(x)

    assert not context.portable()
    _dense_model().export(tmp_path / "a", signatures={"serving_default": wx.Signature(fn=probe)})
    assert seen and all(seen) and not context.portable()


def test_values_a_narrower_dtype_cannot_hold_are_refused(tmp_path):
    art = wx.load(_dense_model().export(tmp_path / "a", signatures={
        "serving_default": wx.Signature(),
        "ids": wx.Signature(inputs=wx.TensorSpec((None, 4), "int32", "ids"), fn=lambda m, ids: m(ids * 1.0))}))
    with pytest.raises(wx.InputError, match=r"input 'features': values from .* do not fit float32"):
        art(np.full((1, 4), 1e300))
    with pytest.raises(wx.InputError, match=r"input 'ids': values from .* do not fit int32"):
        art.ids(np.full((1, 4), 2**40, "int64"))
    assert np.isnan(np.asarray(art(np.full((1, 4), np.nan)))).all()  # NaN is a float32 value like any other


def test_models_using_kernels_export_through_the_reference_path(tmp_path, monkeypatch):
    from workbench.kernels import dispatch

    ran = []
    for op in ("attention", "layer_norm"):
        impl = dispatch.implementations(op)["pallas"]
        monkeypatch.setitem(dispatch._registry[op], "pallas", dispatch.Implementation(
            op, "pallas", lambda *a, _fn=impl.fn, _op=op, **k: (ran.append(_op), _fn(*a, **k))[1],
            impl.platforms, impl.supports))
    tokens = wb.Input((6, 8), name="x")
    h = wb.layers.MultiHeadAttention(num_heads=2, key_dim=8)(tokens, tokens)  # head size 8: the kernel takes it
    model = wb.Model(tokens, wb.layers.LayerNormalization()(h + tokens))
    x = np.random.default_rng(0).standard_normal((2, 6, 8)).astype("float32")
    wb.config.set_kernel_implementation("pallas")
    try:
        model(x)
        assert set(ran) == {"attention", "layer_norm"}  # the model itself runs the kernels
        ran.clear()
        path = model.export(tmp_path / "a")
        assert ran == []  # its exported program does not
        program = wx.load(path).signatures["serving_default"]._exported.mlir_module()
        assert "triton" not in program and "tpu_custom_call" not in program
    finally:
        wb.config.set_kernel_implementation(None)
    np.testing.assert_allclose(np.asarray(wx.load(path)(x)), np.asarray(model(x)), atol=1e-5)
