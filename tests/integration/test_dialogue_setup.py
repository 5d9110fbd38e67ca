"""The Rasa set-up steps keep library output in a log and say where it is; the NLU quality check has a floor.

No Rasa here: the steps run small Python commands, and the quality check's Rasa calls are replaced."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dialogues import quality, runtime
from dialogues.runtime import RasaSetupError, log_tail, pip_progress, run_logged, training_progress


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_step_keeps_what_commands_print_in_its_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "train.log"
    run_logged(
        log, python("print('DeprecationWarning: old API')"), python("import sys; print('done', file=sys.stderr)")
    )
    lines = log.read_text().splitlines()
    assert lines[1::2] == ["DeprecationWarning: old API", "done"]
    assert lines[0].startswith(f"$ {sys.executable} -c ")  # each command is written above its output


def test_a_failed_step_reports_the_last_lines_of_its_log_and_its_path(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    failing = python("import sys\nfor i in range(30): print(f'line {i}')\nsys.exit(3)")
    with pytest.raises(RasaSetupError) as failure:
        run_logged(log, python("print('first command')"), failing)
    message = str(failure.value)
    assert "failed (exit 3)" in message
    assert f"Last lines of {log}:" in message
    assert message.endswith("\n".join(f"line {i}" for i in range(10, 30)))
    assert "first command" not in message  # only the last 20 lines
    assert log_tail(log, 2) == "line 28\nline 29"


def test_training_progress_names_the_component_and_its_epoch() -> None:
    log = (
        "2026-11-30 INFO rasa.engine.training.hooks - Starting to train component 'CountVectorsFeaturizer'.\n"
        "2026-11-30 INFO rasa.engine.training.hooks - Starting to train component 'DIETClassifier'.\n"
        "Epochs:   5%|▌         | 3/60 [00:02<00:40,  1.40it/s, t_loss=9.1]\n"
        "Epochs:  45%|████▌     | 27/60 [00:20<00:25,  1.31it/s, t_loss=3.2]\n"
    )
    assert training_progress("") == "reading the training data"
    assert training_progress(log) == "DIETClassifier: epoch 27/60"
    ted = log + "INFO rasa.engine.training.hooks - Starting to train component 'TEDPolicy'.\n"
    assert training_progress(ted) == "training TEDPolicy"  # DIET's epochs are not TED's


def test_pip_progress_counts_the_packages_collected() -> None:
    assert pip_progress("") == ""
    log = "$ pip install rasa\nCollecting rasa==3.6.21\nCollecting tensorflow==2.12.0\n"
    assert pip_progress(log) == "downloading packages (2 so far)"
    assert pip_progress(log + "Installing collected packages: rasa, tensorflow\n") == "installing the packages"


@pytest.fixture
def quality_without_rasa(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> typer.Typer:
    """The quality command with every Rasa call replaced; the held-out F1 is what `heldout_f1` returns."""
    monkeypatch.setattr(quality, "logs_dir", lambda: tmp_path)
    monkeypatch.setattr(quality, "train", lambda **_: tmp_path / "model.tar.gz")
    monkeypatch.setattr(quality, "on_screen", runtime.quietly)
    monkeypatch.setattr(quality, "validate", lambda: None)
    monkeypatch.setattr(quality, "test_stories", lambda _out: None)
    monkeypatch.delenv("SMARTKET_NLU_F1_FLOOR", raising=False)
    app = typer.Typer()
    app.command()(quality.main)
    return app


def test_quality_fails_below_the_f1_floor(quality_without_rasa: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quality, "heldout_f1", lambda _work: 0.699)
    result = CliRunner().invoke(quality_without_rasa, [])
    assert result.exit_code == 1
    assert "NLU intent F1 (weighted, held-out 20 %): 0.699" in result.output
    assert "FAILED: NLU intent F1 0.699 is below the floor 0.70" in result.output


def test_quality_passes_at_the_floor_and_the_floor_is_configurable(
    quality_without_rasa: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quality, "heldout_f1", lambda _work: 0.747)
    passed = CliRunner().invoke(quality_without_rasa, [])
    assert passed.exit_code == 0
    assert passed.output.splitlines()[-1] == "passed: at or above the floor 0.70"
    monkeypatch.setenv("SMARTKET_NLU_F1_FLOOR", "0.75")
    assert CliRunner().invoke(quality_without_rasa, []).exit_code == 1
    assert CliRunner().invoke(quality_without_rasa, ["--floor", "0.74"]).exit_code == 0
