"""The Matrix crypto store's key and the trust given to devices (trust on first use), with nio's real Olm
machine on an in-memory store and device keys signed as a homeserver would relay them."""

from __future__ import annotations

import asyncio
import logging
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from nio import AsyncClientConfig, KeysQueryResponse
from nio.api import Api
from nio.crypto import OlmAccount, TrustState
from nio.store import SqliteMemoryStore

from bot.channel import ChannelConfigError
from bot.matrix_bot import MatrixChannel
from bot.matrix_crypto import (
    STORE_FOLDER,
    CryptoStore,
    DeviceVerdict,
    TofuClient,
    crypto_store,
    device_ref,
    judge_device,
    review_devices,
)
from marketplace.secrets import MissingSecret

CLAIRE = "@claire:test"
KEY = "k" * 43


# --- the store and its key ---------------------------------------------------------------------


def test_a_production_bot_without_the_store_key_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(MissingSecret) as refused:
        crypto_store(tmp_path, {}, create=False)
    message = str(refused.value)
    assert "SMARTKET_MATRIX_STORE_KEY" in message and str(tmp_path / "secrets" / "matrix-store-key") in message
    assert not (tmp_path / "secrets").exists() and not (tmp_path / STORE_FOLDER).exists()


def test_the_key_comes_from_the_environment_first_and_is_never_printed(tmp_path: Path) -> None:
    store = crypto_store(tmp_path, {"SMARTKET_MATRIX_STORE_KEY": KEY})
    assert store.key == KEY and store.path == tmp_path / STORE_FOLDER
    assert not store.path.exists(), "made when the channel starts"
    store.prepare()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o700
    assert KEY not in repr(store)
    with pytest.raises(MissingSecret, match="shorter"):
        crypto_store(tmp_path, {"SMARTKET_MATRIX_STORE_KEY": "short"})


def test_the_demo_creates_the_key_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    first = crypto_store(tmp_path, {}, create=True)
    key_file = tmp_path / "secrets" / "matrix-store-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert crypto_store(tmp_path, {}, create=False).key == first.key  # the next start reads the same key
    key_file.chmod(0o644)
    with pytest.raises(MissingSecret, match="chmod 600"):
        crypto_store(tmp_path, {})


# --- trust on first use: the policy --------------------------------------------------------------


@pytest.mark.parametrize(
    ("pinned", "trust", "offered", "verdict"),
    [
        ("A", TrustState.unset, "A", DeviceVerdict.TRUST),  # first sight
        ("A", TrustState.verified, "A", DeviceVerdict.KEEP),
        ("A", TrustState.verified, "B", DeviceVerdict.REFUSE),  # a known device with another signing key
        ("A", TrustState.unset, "B", DeviceVerdict.REFUSE),
        ("A", TrustState.blacklisted, "A", DeviceVerdict.KEEP),  # refused once, refused for good
        ("A", TrustState.blacklisted, "B", DeviceVerdict.KEEP),
    ],
)
def test_the_verdict_on_a_device(pinned: str, trust: TrustState, offered: str, verdict: DeviceVerdict) -> None:
    assert judge_device(pinned, trust, offered) is verdict


# --- trust on first use: with nio's Olm machine ---------------------------------------------------


def bot_client() -> TofuClient:
    config = AsyncClientConfig(store=SqliteMemoryStore, encryption_enabled=True, store_sync_tokens=False)
    client = TofuClient("http://matrix.test", "@marche:test", device_id="BOT", config=config)
    client.restore_login("@marche:test", "BOT", "token")
    return client


def device_keys(account: OlmAccount, user_id: str, device_id: str) -> dict:
    """A device's keys as the homeserver relays them: signed by the device itself."""
    keys = account.identity_keys
    payload = {
        "user_id": user_id,
        "device_id": device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {f"ed25519:{device_id}": keys["ed25519"], f"curve25519:{device_id}": keys["curve25519"]},
    }
    signature = account.sign(Api.to_canonical_json(payload))
    return payload | {"signatures": {user_id: {f"ed25519:{device_id}": signature}}}


def query(client: TofuClient, *devices: tuple[OlmAccount, str]) -> KeysQueryResponse:
    """What TofuClient.keys_query does with the homeserver's answer: nio stores it, then we judge it."""
    response = KeysQueryResponse({CLAIRE: {d: device_keys(a, CLAIRE, d) for a, d in devices}}, {})
    asyncio.run(client.receive_response(response))
    review_devices(client, response.device_keys)
    return response


def test_a_new_device_of_a_known_person_is_trusted_on_first_sight() -> None:
    client = bot_client()
    phone, laptop = OlmAccount(), OlmAccount()
    query(client, (phone, "PHONE"))
    assert client.device_store[CLAIRE]["PHONE"].verified
    query(client, (phone, "PHONE"), (laptop, "LAPTOP"))  # the homeserver says her devices changed: a new one
    assert client.device_store[CLAIRE]["PHONE"].verified and client.device_store[CLAIRE]["LAPTOP"].verified


def test_a_known_device_with_another_signing_key_is_refused_and_logged_without_naming_anyone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = bot_client()
    query(client, (OlmAccount(), "PHONE"))
    pinned = client.device_store[CLAIRE]["PHONE"].ed25519
    impostor = OlmAccount()  # same device id, other keys: whoever controls the homeserver could do this
    with caplog.at_level(logging.WARNING, logger="bot.matrix_crypto"):
        query(client, (impostor, "PHONE"))
    device = client.device_store[CLAIRE]["PHONE"]
    assert device.blacklisted and not device.verified
    assert device.ed25519 == pinned != impostor.identity_keys["ed25519"]
    ours = [r.getMessage() for r in caplog.records if r.name == "bot.matrix_crypto"]
    assert ours == [
        f"a Matrix device changed its signing key; not encrypting to it (device {device_ref(CLAIRE, 'PHONE')})"
    ]
    assert not any("claire" in message.lower() or "PHONE" in message for message in ours)
    # Nothing is encrypted to it: nio's key sharing leaves blacklisted devices out.
    assert client.olm is not None and client.olm.is_device_blacklisted(device)
    query(client, (impostor, "PHONE"))  # asked again: still refused, not trusted back
    assert client.device_store[CLAIRE]["PHONE"].blacklisted


def test_a_device_with_a_bad_signature_is_never_trusted() -> None:
    client = bot_client()
    forged = device_keys(OlmAccount(), CLAIRE, "PHONE")
    forged["keys"]["ed25519:PHONE"] = OlmAccount().identity_keys["ed25519"]  # signed by another key
    response = KeysQueryResponse({CLAIRE: {"PHONE": forged}}, {})
    asyncio.run(client.receive_response(response))
    assert review_devices(client, response.device_keys) == []
    assert "PHONE" not in client.device_store[CLAIRE]


# --- the store across restarts -------------------------------------------------------------------------


def bot_channel(store: CryptoStore) -> MatrixChannel:
    return MatrixChannel("http://matrix.test", "@marche:test", None, None, password="p", store=store)  # type: ignore[arg-type]


def test_a_restart_opens_the_same_account_and_a_wrong_key_is_a_clear_configuration_error(tmp_path: Path) -> None:
    store = crypto_store(tmp_path, {"SMARTKET_MATRIX_STORE_KEY": KEY})
    store.prepare()
    first = bot_channel(store)
    first._open_store("SMARTKETPLACE")
    assert first.client.olm is not None
    identity = first.client.olm.account.identity_keys
    again = bot_channel(store)
    again._open_store("SMARTKETPLACE")
    assert again.client.olm is not None and again.client.olm.account.identity_keys == identity
    assert [p.name for p in store.path.iterdir() if p.suffix == ".db"] == ["@marche:test_SMARTKETPLACE.db"]

    stranger = bot_channel(replace(store, key="x" * 43))
    with pytest.raises(ChannelConfigError, match="sealed with another key") as refused:
        asyncio.run(stranger.start())  # before any login: nothing reaches the homeserver
    assert KEY not in str(refused.value) and "x" * 43 not in str(refused.value)
