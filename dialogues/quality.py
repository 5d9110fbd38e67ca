"""Rasa's own checks, run by `make test`: data validation, test stories, and NLU F1 on held-out data.

    .venv/bin/python -m dialogues.quality [--floor 0.70]

Fails (exit 1) when a check fails or when the weighted intent F1 on the held-out data is below the floor
(F1_FLOOR, or $SMARTKET_NLU_F1_FLOOR): a change that makes the assistant understand people worse is
caught like a failing test. The held-out split is fixed (seed 42, 80 % / 20 %); its NLU-only model is
cached by fingerprint like the main model, so an unchanged dialogues/ costs no training. What Rasa
prints goes to a log file whose path is shown (its last lines too, when a check fails).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from dialogues.runtime import (
    DIALOGUES,
    LongStep,
    RasaSetupError,
    logs_dir,
    model_path,
    models_dir,
    on_screen,
    rasa_bin,
    rasa_env,
    run_logged,
    train,
)

# Weighted intent F1 on the held-out 20 % below which the checks fail (0.747 measured with fr, en, de, it).
F1_FLOOR = 0.70
LOG = "quality.log"
CHECKS = {"validate": "validating the data", "core": "test stories", "split": "splitting the NLU data",
          "train": "training the held-out NLU model", "nlu": "held-out NLU test"}  # fmt: skip


def rasa(*args: str, cwd: Path = DIALOGUES) -> None:
    run_logged(logs_dir() / LOG, [str(rasa_bin()), *args], cwd=cwd, env=rasa_env(), append=True)


def check_progress(log: str) -> str:
    """Which check runs now, from the last command written to the log (`$ .../rasa test nlu ...`)."""
    commands = re.findall(r"^\$ \S*rasa (?:data |test )?(\w+)", log, re.MULTILINE)
    return CHECKS.get(commands[-1], "") if commands else ""


def validate() -> None:
    rasa("data", "validate", "--domain", "domain.yml", "--data", "data", "--config", "config.yml", "--fail-on-warnings")


def test_stories(out: Path) -> None:
    """Test stories must be predicted exactly (the command fails otherwise)."""
    rasa("test", "core", "--model", str(model_path()), "--stories", "tests/test_stories.yml",
         "--out", str(out), "--fail-on-prediction-errors")  # fmt: skip


def heldout_f1(work: Path) -> float:
    split = work / "split"
    rasa("data", "split", "nlu", "--nlu", "data", "--training-fraction", "0.8", "--random-seed", "42",
         "--out", str(split))  # fmt: skip
    train_file, test_file = split / "training_data.yml", split / "test_data.yml"
    digest = hashlib.sha256((DIALOGUES / "config.yml").read_bytes() + train_file.read_bytes()).hexdigest()[:16]
    model = models_dir() / f"nlu-heldout-{digest}.tar.gz"
    if not model.exists():
        rasa("train", "nlu", "--config", "config.yml", "--nlu", str(train_file), "--out", str(model.parent),
             "--fixed-model-name", model.name.removesuffix(".tar.gz"))  # fmt: skip
    results = work / "results"
    rasa("test", "nlu", "--model", str(model), "--nlu", str(test_file), "--out", str(results))
    report = json.loads((results / "intent_report.json").read_text())
    intents = {k: v for k, v in report.items() if isinstance(v, dict) and "support" in v and "avg" not in k}
    weakest = sorted(intents.items(), key=lambda item: item[1]["f1-score"])[:5]
    print("weakest intents: " + ", ".join(f"{name} {v['f1-score']:.2f}" for name, v in weakest))
    return float(report["weighted avg"]["f1-score"])


def main(
    floor: Annotated[
        float, typer.Option(envvar="SMARTKET_NLU_F1_FLOOR", help="Fail below this weighted intent F1 (held-out).")
    ] = F1_FLOOR,
) -> None:
    """Validate the dialogue data, predict the test stories exactly, and measure NLU F1 on held-out data."""
    log = logs_dir() / LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    work = Path(tempfile.mkdtemp(prefix="smartket-quality-"))
    step = LongStep(
        "Checking the dialogues: data, test stories, held-out NLU F1",
        "on every `make test`",
        "about 2 min (about 6 more the first time, to train the held-out NLU model)",
        log,
        check_progress,
    )
    try:
        train(show=on_screen)
        with on_screen(step):
            validate()
            test_stories(work / "stories")
            f1 = heldout_f1(work)
    except RasaSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"NLU intent F1 (weighted, held-out 20 %): {f1:.3f}")
    if f1 < floor:
        print(
            f"FAILED: NLU intent F1 {f1:.3f} is below the floor {floor:.2f}: the assistant understands people worse "
            "than it did. Look at the weakest intents above; the floor is F1_FLOOR in dialogues/quality.py "
            "(or SMARTKET_NLU_F1_FLOOR).",
            file=sys.stderr,
        )
        raise typer.Exit(1)
    print(f"passed: at or above the floor {floor:.2f}")


if __name__ == "__main__":
    typer.run(main)
