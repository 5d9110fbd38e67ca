"""Rasa's own checks, run by `make test`: data validation, test stories, and NLU F1 on held-out data.

    .venv/bin/python -m dialogues.quality

The held-out split is fixed (seed 42, 80 % / 20 %); its NLU-only model is cached by fingerprint like
the main model, so an unchanged dialogues/ costs no training.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dialogues.runtime import DIALOGUES, ensure_rasa_venv, model_path, models_dir, rasa_bin, rasa_env, train


def rasa(*args: str, cwd: Path = DIALOGUES) -> None:
    subprocess.run([str(rasa_bin()), *args], cwd=cwd, env=rasa_env(), check=True)


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


def main() -> int:
    ensure_rasa_venv()
    train()
    validate()
    work = Path(tempfile.mkdtemp(prefix="smartket-quality-"))
    try:
        test_stories(work / "stories")
        f1 = heldout_f1(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"NLU intent F1 (weighted, held-out 20 %): {f1:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
