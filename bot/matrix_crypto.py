"""End-to-end encryption for the Matrix channel (matrix-nio's own, with vodozemac): where the bot's keys are
kept, the key that seals them, and which devices of the people it talks to it encrypts to.

- The crypto store (nio's `SqliteStore`: the bot's Olm account, its sessions, the devices it knows and their
  trust) lives in `<data_dir>/matrix-store/`, a 0700 folder, one database per account and device id. Keep it
  with `MATRIX_DEVICE_ID`: a bot that lost it must log in as a new device.
- Its secrets are sealed with a key from `$SMARTKET_MATRIX_STORE_KEY`, else `<data_dir>/secrets/matrix-store-key`
  (0600). Never in the repository nor in the TOML file. A production bot without it does not start; the demo
  creates the file at first start. Unlike the other shared secrets it is not rotated: the store cannot be read
  without the key it was sealed with.
- Devices are trusted on first use: a device seen for the first time is trusted; a known device id that comes
  back with another signing key is not (it is blacklisted: nothing is encrypted to it, and a warning is logged
  with a pseudonymous reference). nio itself keeps the first key it saw of a device, so the key pinned is the
  first one. The person gets a trusted device again by signing in anew (a new device id).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from nio import AsyncClient, KeysQueryResponse
from nio.crypto import OlmDevice, TrustState

from marketplace.secrets import MissingSecret, Secret, load_secret, secret_path

log = logging.getLogger(__name__)

STORE_KEY = Secret("SMARTKET_MATRIX_STORE_KEY", "matrix-store-key", "The Matrix crypto store key")
STORE_FOLDER = "matrix-store"


@dataclass(frozen=True)
class CryptoStore:
    """Where the bot's Matrix keys are kept, and the key that seals them (never printed)."""

    path: Path
    key: str = field(repr=False)

    def prepare(self) -> None:
        """The folder, readable by the bot's user only; made when the channel starts, not when it is built."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path.chmod(0o700)  # mkdir's mode is masked by the umask, and an older folder may be wider


def crypto_store(data_dir: Path, env: Mapping[str, str] | None = None, *, create: bool = False) -> CryptoStore:
    """The deployment's crypto store; its key from the environment, else its file, created only with `create`
    (the demo), else MissingSecret saying how to provide one."""
    environ = os.environ if env is None else env
    path = secret_path(STORE_KEY, data_dir)
    folder = data_dir / STORE_FOLDER
    if not create and not environ.get(STORE_KEY.env, "").strip() and not path.exists():
        raise MissingSecret(
            f"{STORE_KEY.what} is not set: set {STORE_KEY.env} (e.g. `openssl rand -hex 32`) or write it to {path} "
            f"(mode 0600). Keep it: the bot's Matrix keys in {folder} cannot be read without it."
        )
    return CryptoStore(folder, load_secret(STORE_KEY, data_dir, environ, create=create))


class DeviceVerdict(StrEnum):
    TRUST = "trust"  # first sight of this device: trusted on first use
    KEEP = "keep"  # already judged, same signing key
    REFUSE = "refuse"  # a known device id with another signing key: nothing is encrypted to it


def judge_device(pinned_key: str, trust: TrustState, offered_key: str) -> DeviceVerdict:
    """What to do with a device the homeserver describes with `offered_key`, given the signing key pinned at
    first sight and the trust given then. A device refused once stays refused, even if its first key comes
    back: whoever changed it once can change it again."""
    if trust == TrustState.blacklisted:
        return DeviceVerdict.KEEP
    if offered_key != pinned_key:
        return DeviceVerdict.REFUSE
    if trust == TrustState.verified:
        return DeviceVerdict.KEEP
    return DeviceVerdict.TRUST


def device_ref(user_id: str, device_id: str) -> str:
    """A pseudonymous reference to a device for the logs: the same device gives the same reference, and it
    names nobody."""
    return hashlib.sha256(f"{user_id}|{device_id}".encode()).hexdigest()[:12]


def review_devices(client: AsyncClient, device_keys: Mapping[str, Mapping[str, Any]]) -> list[OlmDevice]:
    """Apply trust on first use to the devices a key query described (nio stored them just before): new ones
    are trusted, changed ones refused. Returns the devices refused now."""
    refused = []
    for user_id, devices in device_keys.items():
        known = client.device_store[user_id]
        for device_id, payload in devices.items():
            device = known.get(device_id)
            keys = payload.get("keys") if isinstance(payload, Mapping) else None
            offered = keys.get(f"ed25519:{device_id}") if isinstance(keys, Mapping) else None
            if device is None or device.deleted or not isinstance(offered, str):
                continue  # a device nio did not accept (bad signature, mismatched ids): never encrypted to
            verdict = judge_device(device.ed25519, device.trust_state, offered)
            if verdict is DeviceVerdict.TRUST:
                client.verify_device(device)
            elif verdict is DeviceVerdict.REFUSE:
                client.blacklist_device(device)
                refused.append(device)
                log.warning("a Matrix device changed its signing key; not encrypting to it (device %s)",
                            device_ref(user_id, device_id))  # fmt: skip
    return refused


def trust_known_devices(client: AsyncClient, user_ids: list[str]) -> None:
    """Trust on first use for devices already in the store but never judged (a store written before this
    policy, or a query answered while the bot was stopping): the key they have is the first one seen."""
    for user_id in user_ids:
        for device in client.device_store.active_user_devices(user_id):
            if device.trust_state == TrustState.unset and device.id != client.device_id:
                client.verify_device(device)


class TofuClient(AsyncClient):
    """nio's client, judging devices after every key query, also the ones nio makes by itself before sending
    to an encrypted room, so it never encrypts to a device that has not been judged."""

    async def keys_query(self):  # type: ignore[no-untyped-def,override]
        response = await super().keys_query()
        if isinstance(response, KeysQueryResponse):
            review_devices(self, response.device_keys)
        return response
