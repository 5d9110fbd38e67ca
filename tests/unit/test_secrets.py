"""The shared secrets (marketplace/secrets.py): the environment wins, then a file readable by its owner
only; a missing file is created only when asked, and then reused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from marketplace.secrets import (
    ACTIONS,
    ALL,
    CHANNEL,
    RASA_API,
    MissingSecret,
    ensure_secrets,
    load_secret,
    rotate_secret,
    secret_path,
)

STRONG = "x" * 40


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_created_secret_is_readable_by_its_owner_only_and_reused(tmp_path: Path) -> None:
    first = load_secret(CHANNEL, tmp_path, {}, create=True)
    path = secret_path(CHANNEL, tmp_path)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert len(first) >= 40
    assert load_secret(CHANNEL, tmp_path, {}) == first  # read back, not made again
    assert load_secret(CHANNEL, tmp_path, {}, create=True) == first


def test_each_secret_has_its_own_value(tmp_path: Path) -> None:
    values = {secret: load_secret(secret, tmp_path, {}, create=True) for secret in ALL}
    assert len(set(values.values())) == 3


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    load_secret(ACTIONS, tmp_path, {}, create=True)
    assert load_secret(ACTIONS, tmp_path, {ACTIONS.env: STRONG}) == STRONG
    assert load_secret(ACTIONS, tmp_path, {ACTIONS.env: STRONG}, create=True) == STRONG


def test_a_missing_secret_is_refused_unless_creation_is_asked(tmp_path: Path) -> None:
    with pytest.raises(MissingSecret, match="SMARTKET_CHANNEL_SECRET") as refused:
        load_secret(CHANNEL, tmp_path, {})
    assert "admin_cli.py rasa secrets" in str(refused.value)
    assert not secret_path(CHANNEL, tmp_path).exists()


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    value = load_secret(RASA_API, tmp_path, {}, create=True)
    path = secret_path(RASA_API, tmp_path)
    path.chmod(0o644)
    with pytest.raises(MissingSecret, match="chmod 600") as refused:
        load_secret(RASA_API, tmp_path, {})
    assert value not in str(refused.value)  # a message never shows the value


def test_a_short_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MissingSecret, match="shorter"):
        load_secret(CHANNEL, tmp_path, {CHANNEL.env: "hunter2"})


def test_ensure_says_where_each_secret_comes_from_and_rotation_replaces_the_value(tmp_path: Path) -> None:
    sources = ensure_secrets(tmp_path, {RASA_API.env: STRONG})
    assert sources == {
        CHANNEL: str(secret_path(CHANNEL, tmp_path)),
        ACTIONS: str(secret_path(ACTIONS, tmp_path)),
        RASA_API: "$SMARTKET_RASA_API_TOKEN",
    }
    assert not secret_path(RASA_API, tmp_path).exists()
    before = load_secret(CHANNEL, tmp_path, {})
    rotate_secret(CHANNEL, tmp_path)
    after = load_secret(CHANNEL, tmp_path, {})
    assert after != before and mode(secret_path(CHANNEL, tmp_path)) == 0o600
    files = sorted(p.name for p in secret_path(CHANNEL, tmp_path).parent.iterdir())
    assert files == ["action-secret", "channel-secret"]  # no temporary file left behind


def test_a_wider_existing_folder_is_narrowed(tmp_path: Path) -> None:
    folder = secret_path(CHANNEL, tmp_path).parent
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    load_secret(CHANNEL, tmp_path, {}, create=True)
    assert mode(folder) == 0o700
