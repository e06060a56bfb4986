"""`workbench quickstart`: trains to >= 95% test accuracy on the digits, saves a model that loads and agrees."""

import numpy as np
import pytest

import workbench
from workbench import cli
from workbench.examples import quickstart


def test_quickstart_reaches_95_percent_and_saves_a_model_that_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = []
    result = quickstart.run(epochs=10, print_fn=printed.append, verbose=0)

    assert result["accuracy"] >= 0.95, result["accuracy"]
    assert result["path"] == str(tmp_path / "quickstart.keras")
    text = "\n".join(printed)
    assert f"Test accuracy: {result['accuracy']:.2%}" in text and result["path"] in text

    loaded = workbench.saving.load_model(result["path"])
    (_, _), (x_test, y_test) = quickstart.load_scaled_digits()
    trained = result["model"].predict(x_test, verbose=0)
    np.testing.assert_array_equal(loaded.predict(x_test, verbose=0), trained)
    assert np.mean(np.argmax(trained, -1) == y_test) == pytest.approx(result["accuracy"])

    # It ends by exporting into its run and loading the artifact back.
    artifact = workbench.export.load(result["artifact"])
    assert artifact.manifest["provenance"]["metrics"]["val_accuracy"] > 0.9
    np.testing.assert_allclose(np.asarray(artifact(x_test)), trained, atol=1e-6)
    assert f"Exported it to {result['artifact']}" in text
    assert f"agrees with the model on {len(x_test)} of {len(x_test)} test images" in text


def test_cli_quickstart_trains_with_a_progress_bar_and_writes_the_file(tmp_path, capsys):
    path = tmp_path / "out" / "digits.keras"
    assert cli.main(["quickstart", "--output", str(path), "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "val_accuracy" in out
    assert "Test accuracy:" in out and f"Saved the trained model to {path}" in out
    assert workbench.models.load_model(path).count_params() == quickstart.digits_convnet().count_params()


def test_cli_quickstart_refuses_a_bad_output_before_training(tmp_path, capsys):
    assert cli.main(["quickstart", "--output", str(tmp_path / "model.h5")]) == 2
    captured = capsys.readouterr()
    assert "'.keras'" in captured.err and "Epoch" not in captured.out
    assert not (tmp_path / "model.h5").exists()


@pytest.mark.parametrize("epochs", ["0", "-3", "two"])
def test_cli_quickstart_rejects_epochs_that_are_not_positive(epochs, capsys):
    with pytest.raises(SystemExit):
        cli.main(["quickstart", "--epochs", epochs])
    assert "positive whole number" in capsys.readouterr().err


def test_run_rejects_bad_arguments_before_training(tmp_path):
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        quickstart.run(tmp_path / "m.keras", epochs=0)
    with pytest.raises(ValueError, match="ending in '.keras'"):
        quickstart.run(tmp_path / "m.h5", epochs=1)
