"""The launcher that hands Rasa its API token (dialogues/rasa_plugins/rasa_launch.py, run in Rasa's venv)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

LAUNCHER = Path(__file__).resolve().parents[2] / "dialogues" / "rasa_plugins" / "rasa_launch.py"
spec = importlib.util.spec_from_file_location("rasa_launch", LAUNCHER)
assert spec and spec.loader
rasa_launch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rasa_launch)


@pytest.mark.parametrize("token", ["-Ab3" + "x" * 40, "--" + "y" * 41, "z" * 43])
def test_the_token_is_one_argument_even_when_it_starts_with_a_dash(token: str) -> None:
    # token_urlsafe starts with "-" once in 64: as a separate argument argparse read it as an option.
    argv = rasa_launch.arguments(["run", "--enable-api"], token)
    assert argv == ["run", "--enable-api", f"--auth-token={token}"]


def test_without_the_api_no_token_is_added() -> None:
    assert rasa_launch.arguments(["run"], "t" * 20) == ["run"]


@pytest.mark.parametrize("given", [["--auth-token", "x" * 20], ["--auth-token=" + "x" * 20], ["-t", "x" * 20]])
def test_a_token_on_the_command_line_is_refused(given: list[str]) -> None:
    with pytest.raises(SystemExit):
        rasa_launch.arguments(["run", "--enable-api", *given], "t" * 20)


def test_the_api_without_a_token_is_refused() -> None:
    with pytest.raises(SystemExit):
        rasa_launch.arguments(["run", "--enable-api"], "short")
