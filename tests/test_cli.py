"""The `workbench` command."""

import subprocess
import sys

from workbench import cli


def test_tour_prints_three_model_summaries(capsys):
    assert cli.main(["tour"]) == 0
    out = capsys.readouterr().out
    assert out.count("Total params:") == 3
    for name in ("sequential_cnn", "transformer_classifier", "lstm_seq2seq"):
        assert f'Model: "{name}"' in out
    assert "Total params: 34,826" in out


def test_console_script_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "workbench.cli", "--version"], capture_output=True, text=True,
                         check=True)
    import workbench

    assert out.stdout.strip() == workbench.__version__


def test_no_command_prints_help_and_fails():
    assert cli.main([]) == 2


def test_export_models_and_serve_commands_are_wired(tmp_path, capsys):
    import workbench as wb

    model = wb.Sequential([wb.Input((3,)), wb.layers.Dense(2)])
    artifact = model.export(tmp_path / "artifact", platforms="cpu")
    repo = tmp_path / "models"
    assert cli.main(["export", "verify", str(artifact)]) == 0
    assert cli.main(["models", "push", str(artifact), "--name", "tiny", "--repo", str(repo)]) == 0
    assert (repo / "tiny" / "1" / "manifest.json").exists()
    assert cli.main(["models", "list", "--repo", str(repo)]) == 0
    assert "tiny" in capsys.readouterr().out
    assert cli.main(["serve", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
