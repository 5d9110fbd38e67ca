"""Personal fields encrypted at rest: the data keys, the column type that uses them, and key rotation.

A value is sealed with AES-256-GCM under the ring's current key, with a random 96-bit nonce, and stored as
`v1:<key id>:<base64url(nonce + ciphertext + tag)>`. The associated data is the format version, the key id and
the column (`orders.delivery_street`): a value copied into another column, or altered, fails to open. Every
key of the ring opens; only the current one seals. Encrypted columns cannot be searched or sorted in SQL
(each value has its own nonce): filter on the clear columns beside them, then read.

The keys are `KID:BASE64` entries (32-byte keys), the first one current: from $SMARTKET_DATA_KEYS
(separated by commas), else from `<data_dir>/secrets/data-keys` (one a line, readable by its owner only,
written with marketplace.secrets). The demo deployment creates the file on first start; anywhere else a
missing key stops the start-up with a message saying how to make one (`admin_cli.py keys init`).

The composition root binds a deployment's keys to its database engine (`bind_keys`); the column type finds
them through the dialect it is given, so two databases in one process (tests) each keep their own keys.
Rotation (`admin_cli.py keys rotate`) puts a new key first in the file, then re-encrypts every encrypted
column in batches, one transaction each; running processes read the changed file again by themselves.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets as random
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, Integer, MetaData, Table, Text, and_, func, or_, select, update
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator

from marketplace.errors import MarketplaceError
from marketplace.secrets import MissingSecret, Secret, load_secret, secret_path, write_secret

log = logging.getLogger(__name__)

VERSION = "v1"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, GCM's native nonce size
KID = re.compile(r"[A-Za-z0-9-]{1,32}")
DATA_KEYS = Secret("SMARTKET_DATA_KEYS", "data-keys", "The personal data key")
RELOAD_EVERY = 1.0  # seconds between two looks at the key file's stamp


class UnreadableData(MarketplaceError):
    """A stored value does not open: unknown key, altered value, or a value of another column. Its params
    name the column, the key id and why, never the value or a key."""

    code = "unreadable_data"


class DataKeysError(MissingSecret):
    """The data keys are missing, malformed or cannot be changed from here; the message says what to do and
    never shows a key."""


class KeyRetirementRefused(RuntimeError):
    """A key cannot be retired: it is the current one, unknown, or values still use it."""


@dataclass(frozen=True)
class DataKey:
    kid: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not KID.fullmatch(self.kid):
            raise DataKeysError(f"data key id {self.kid!r} must be 1-32 letters, digits or '-'")
        if len(self.secret) != KEY_BYTES:
            raise DataKeysError(f"data key {self.kid} must be {KEY_BYTES} bytes (base64 of `openssl rand 32`)")

    @property
    def entry(self) -> str:
        return f"{self.kid}:{base64.urlsafe_b64encode(self.secret).decode('ascii')}"


class KeyRing:
    """Known data keys, the first one current. Immutable: rotation builds a new ring."""

    def __init__(self, keys: Sequence[DataKey]) -> None:
        if not keys:
            raise DataKeysError("the data key ring is empty")
        self.keys = tuple(keys)
        self._by_kid = {key.kid: key for key in self.keys}
        if len(self._by_kid) != len(self.keys):
            raise DataKeysError("the data key ring names the same key id twice")
        self._ciphers = {key.kid: AESGCM(key.secret) for key in self.keys}

    def __repr__(self) -> str:
        return f"KeyRing(current={self.current.kid!r}, kids={self.kids!r})"

    @classmethod
    def generate(cls) -> KeyRing:
        return cls([_new_key(())])

    @property
    def current(self) -> DataKey:
        return self.keys[0]

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(key.kid for key in self.keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._by_kid

    def ring(self, *, unknown: str | None = None) -> KeyRing:  # noqa: ARG002 - a fixed ring has nothing to reload
        """Itself (a KeyRing can be bound as it is, as tests do)."""
        return self

    def encrypt(self, plaintext: str, where: str) -> str:
        kid = self.current.kid
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[kid].encrypt(nonce, plaintext.encode("utf-8"), _associated(kid, where))
        return f"{VERSION}:{kid}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii').rstrip('=')}"

    def decrypt(self, token: str, where: str) -> str:
        version, kid, body = _split(token)
        if version != VERSION:
            raise UnreadableData(where=where, key_id="", reason="format")
        if kid not in self._ciphers:
            raise UnreadableData(where=where, key_id=kid, reason="unknown_key")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            if len(raw) < NONCE_BYTES + 16:
                raise ValueError("too short")
            plain = self._ciphers[kid].decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(kid, where))
            return plain.decode("utf-8")
        except (InvalidTag, ValueError, binascii.Error):
            raise UnreadableData(where=where, key_id=kid, reason="authentication") from None

    def with_new_key(self) -> KeyRing:
        """This ring with a fresh current key in front (the others still open what they sealed)."""
        return KeyRing([_new_key(self.kids), *self.keys])

    def without(self, kid: str) -> KeyRing:
        if kid not in self:
            raise KeyRetirementRefused(f"no data key {kid!r} in the ring (known: {', '.join(self.kids)})")
        if kid == self.current.kid:
            raise KeyRetirementRefused(f"{kid} is the current data key: rotate first (`admin_cli.py keys rotate`)")
        return KeyRing([key for key in self.keys if key.kid != kid])

    def dumps(self) -> str:
        """The key file's text (holds the keys: only for the 0600 file)."""
        header = "# SmartketPlace data keys, current first. Secret: back it up apart from the database.\n"
        return header + "\n".join(key.entry for key in self.keys)


def key_id(token: str) -> str | None:
    """The key id a stored value was sealed with (None for what is not a sealed value)."""
    version, kid, _ = _split(token)
    return kid if version == VERSION and KID.fullmatch(kid) else None


def key_prefix(kid: str) -> str:
    return f"{VERSION}:{kid}:"


def _split(token: str) -> tuple[str, str, str]:
    version, _, rest = token.partition(":")
    kid, _, body = rest.partition(":")
    return version, kid, body


def _associated(kid: str, where: str) -> bytes:
    return f"{VERSION}:{kid}:{where}".encode()


def _new_key(taken: Iterable[str]) -> DataKey:
    used = set(taken)
    while True:
        kid = random.token_hex(4)
        if kid not in used:
            return DataKey(kid, os.urandom(KEY_BYTES))


def parse_key_ring(text: str, source: str) -> KeyRing:
    """The ring written as `KID:BASE64` entries (commas, spaces or lines between them, `#` comments), first =
    current. Errors name `source` and the entry's position, never a key."""
    entries = [entry for line in text.splitlines() for entry in re.split(r"[\s,]+", line.partition("#")[0]) if entry]
    keys = []
    for number, entry in enumerate(entries, start=1):
        kid, sep, encoded = entry.partition(":")
        if not sep:
            raise DataKeysError(f"{source}: entry {number} is not KID:BASE64 (e.g. `k1:$(openssl rand -base64 32)`)")
        try:
            secret = base64.urlsafe_b64decode(encoded.replace("+", "-").replace("/", "_") + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raise DataKeysError(f"{source}: entry {number} ({kid}) is not base64") from None
        keys.append(DataKey(kid, secret))
    if not keys:
        raise DataKeysError(f"{source} holds no data key")
    return KeyRing(keys)


class DataKeys(Protocol):
    """What the column type needs: the ring to use now (read again when `unknown` is a key id it lacks)."""

    def ring(self, *, unknown: str | None = None) -> KeyRing: ...


class KeyStore:
    """A deployment's data keys: from $SMARTKET_DATA_KEYS, else its key file, read again when another
    process (`keys rotate`, `keys retire`) changed the file, so running servers follow a rotation."""

    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None, *, create: bool = False) -> None:
        environ = os.environ if env is None else env
        self.path = secret_path(DATA_KEYS, data_dir)
        self.from_env = bool(environ.get(DATA_KEYS.env, "").strip())
        self.source = f"${DATA_KEYS.env}" if self.from_env else str(self.path)
        if not self.from_env and not self.path.exists():
            if not create:
                raise DataKeysError(
                    f"{DATA_KEYS.what} is not set: set {DATA_KEYS.env} (KID:BASE64, e.g. "
                    f"`k1:$(openssl rand -base64 32)`), or create {self.path} with `admin_cli.py keys init` "
                    "(the demo deployment creates it for you). Back the key up: without it the delivery "
                    "addresses stored cannot be read."
                )
            write_secret(self.path, exclusive=True, value=KeyRing.generate().dumps())
            log.info("created the data key file in %s", self.path.parent)
        self._env = environ
        self._data_dir = data_dir
        self._ring = parse_key_ring(load_secret(DATA_KEYS, data_dir, environ), self.source)
        self._stamp = self._file_stamp()
        self._looked = time.monotonic()

    def ring(self, *, unknown: str | None = None) -> KeyRing:
        """The current ring; the key file is looked at again at most once a second, or at once when a value
        names a key id this ring does not know (another process has just rotated)."""
        if self.from_env:
            return self._ring
        now = time.monotonic()
        if (unknown is not None and unknown not in self._ring) or now - self._looked >= RELOAD_EVERY:
            self._looked = now
            stamp = self._file_stamp()
            if stamp != self._stamp:
                try:
                    self._ring = parse_key_ring(load_secret(DATA_KEYS, self._data_dir, self._env), self.source)
                    self._stamp = stamp
                except (MissingSecret, OSError) as exc:  # keep working with the keys already read
                    log.warning("data key file changed but could not be read again: %s", type(exc).__name__)
        return self._ring

    def fresh(self) -> KeyRing:
        """The ring as the key file holds it now (before changing it)."""
        self._looked = time.monotonic() - RELOAD_EVERY
        return self.ring()

    def save(self, ring: KeyRing) -> None:
        """Replace the key file with `ring` (at once, 0600); refused for keys from the environment."""
        if self.from_env:
            raise DataKeysError(
                f"the data keys come from ${DATA_KEYS.env}, which this command cannot change: put a new key "
                f"first in ${DATA_KEYS.env} (e.g. `k2:$(openssl rand -base64 32)`), restart, then run "
                "`admin_cli.py keys rotate --resume`; remove a retired key from the variable yourself"
            )
        write_secret(self.path, exclusive=False, value=ring.dumps())
        self._ring = ring
        self._stamp = self._file_stamp()

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return info.st_ino, info.st_mtime_ns, info.st_size


def init_key_file(data_dir: Path) -> tuple[Path, bool]:
    """Create the key file if there is none (0600, in a 0700 folder); whether it was created."""
    path = secret_path(DATA_KEYS, data_dir)
    if path.exists():
        return path, False
    KeyStore(data_dir, {}, create=True)
    return path, True


# --- The column type ---------------------------------------------------------------------------------------

# Each engine's dialect -> the keys of that database, set by the composition root (bootstrap.build_app) and by
# the tests' fixtures. Weak: a disposed and forgotten engine takes its entry with it.
_BOUND: weakref.WeakKeyDictionary[Dialect, DataKeys] = weakref.WeakKeyDictionary()


def bind_keys(engine: Engine, keys: DataKeys | None) -> None:
    """Encrypt and decrypt this engine's encrypted columns with `keys` (None: unbind)."""
    if keys is None:
        _BOUND.pop(engine.dialect, None)
    else:
        _BOUND[engine.dialect] = keys


def bound_keys(dialect: Dialect) -> DataKeys | None:
    return _BOUND.get(dialect)


def _keys(dialect: Dialect, where: str) -> DataKeys:
    keys = _BOUND.get(dialect)
    if keys is None:
        raise DataKeysError(
            f"no data keys for this database (column {where}): build the app with bootstrap.build_app, "
            "or bind them with marketplace.crypto.bind_keys (tests: the `app` fixture does)"
        )
    return keys


class EncryptedText(TypeDecorator[str]):
    """A text column stored sealed. `where` is its own `table.column`, bound into every value as associated
    data (checked against the table by `encrypted_tables`)."""

    impl = Text
    cache_ok = True

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _keys(dialect, self.where).ring().encrypt(self.encode(value), self.where)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        kid = key_id(value)
        ring = _keys(dialect, self.where).ring(unknown=kid)
        try:
            return self.decode(ring.decrypt(value, self.where))
        except UnreadableData as exc:
            log.warning("unreadable value in %s (key %s): %s", self.where, exc.params["key_id"], exc.params["reason"])
            raise

    def encode(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"{self.where} holds text")
        return value

    def decode(self, text: str) -> Any:
        return text


class EncryptedDecimal(EncryptedText):
    """A number stored sealed (coordinates), given back as a Decimal exactly as it was written."""

    cache_ok = True

    def encode(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
            raise TypeError(f"{self.where} holds a Decimal")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise TypeError(f"{self.where} holds a Decimal") from None
        if not number.is_finite():
            raise TypeError(f"{self.where} holds a finite Decimal")
        return str(number)

    def decode(self, text: str) -> Decimal:
        return Decimal(text)


# --- Rotation ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptedTable:
    """A table with encrypted columns, read raw (the stored `v1:…` strings) by rotation and status."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (column name, its associated data `table.column`)

    def raw(self) -> Table:
        return sql_table(self.name, sql_column("id", Integer), *(sql_column(name, Text) for name, _ in self.columns))


def encrypted_tables(metadata: MetaData) -> list[EncryptedTable]:
    """Every table of `metadata` with encrypted columns (import the model modules first); refuses a column
    whose `where` is not its own `table.column`, or a table without an integer `id` key."""
    found = []
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        columns: list[Column[Any]] = [c for c in table.columns if isinstance(c.type, EncryptedText)]
        if not columns:
            continue
        for c in columns:
            where = c.type.where  # type: ignore[attr-defined]
            if where != f"{table.name}.{c.name}":
                raise ValueError(f"{table.name}.{c.name} is declared EncryptedText({where!r})")
        if [c.name for c in table.primary_key.columns] != ["id"]:
            raise ValueError(f"{table.name}: rotation walks tables by an integer `id` primary key")
        found.append(EncryptedTable(table.name, tuple((c.name, c.type.where) for c in columns)))  # type: ignore[attr-defined]
    return found


def _under(raw: Table, name: str, kid: str) -> Any:
    prefix = key_prefix(kid)
    return func.substr(raw.c[name], 1, len(prefix)) == prefix  # substr: SQLite's LIKE ignores case


def _stale(raw: Table, names: Iterable[str], kid: str) -> Any:
    """A row holding some value not sealed under `kid`."""
    return or_(*(and_(raw.c[name].is_not(None), ~_under(raw, name, kid)) for name in names))


def rows_to_reencrypt(engine: Engine, tables: Sequence[EncryptedTable], kid: str) -> int:
    with engine.connect() as conn:
        total = 0
        for enc in tables:
            raw = enc.raw()
            names = [name for name, _ in enc.columns]
            total += conn.execute(select(func.count()).select_from(raw).where(_stale(raw, names, kid))).scalar_one()
        return total


def reencrypt(engine: Engine, keys: DataKeys, tables: Sequence[EncryptedTable], batch_size: int = 200) -> Iterator[int]:
    """Seal every value under the current key, `batch_size` rows per transaction, yielding the rows done after
    each commit. Rows already under the current key are skipped, so a run stopped anywhere (Ctrl-C, crash,
    the caller leaving the loop) is finished by running it again. A row changed meanwhile by someone else is
    left as they wrote it (the update checks the old values)."""
    ring = keys.ring()
    kid = ring.current.kid
    for enc in tables:
        raw = enc.raw()
        names = [name for name, _ in enc.columns]
        last_id = 0
        while True:
            with engine.begin() as conn:
                rows = conn.execute(
                    select(raw.c.id, *(raw.c[name] for name in names))
                    .where(raw.c.id > last_id, _stale(raw, names, kid))
                    .order_by(raw.c.id)
                    .limit(batch_size)
                ).all()
                for row in rows:
                    old = dict(zip(names, row[1:], strict=True))
                    new = {
                        name: ring.encrypt(_opened(ring, keys, old[name], where, row.id), where)
                        for name, where in enc.columns
                        if old[name] is not None and not old[name].startswith(key_prefix(kid))
                    }
                    conn.execute(
                        update(raw).where(raw.c.id == row.id, *(raw.c[name] == old[name] for name in new)).values(new)
                    )
            if not rows:
                break
            last_id = rows[-1].id
            yield len(rows)


def _opened(ring: KeyRing, keys: DataKeys, token: str, where: str, row_id: int) -> str:
    kid = key_id(token)
    if kid is not None and kid not in ring:
        ring = keys.ring(unknown=kid)
    try:
        return ring.decrypt(token, where)
    except UnreadableData as exc:
        exc.params["row"] = row_id
        raise


def rows_per_key(engine: Engine, tables: Sequence[EncryptedTable], ring: KeyRing) -> dict[str, dict[str, int]]:
    """For each table, how many rows hold a value under each known key id, and under none of them
    ("unknown": a key missing from the ring). A row in the middle of a rotation may count under two keys."""
    counts: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for enc in tables:
            raw = enc.raw()
            names = [name for name, _ in enc.columns]
            per_key = {}
            for kid in ring.kids:
                using = or_(*(_under(raw, name, kid) for name in names))
                per_key[kid] = conn.execute(select(func.count()).select_from(raw).where(using)).scalar_one()
            unknown = or_(
                *(and_(raw.c[name].is_not(None), *(~_under(raw, name, kid) for kid in ring.kids)) for name in names)
            )
            per_key["unknown"] = conn.execute(select(func.count()).select_from(raw).where(unknown)).scalar_one()
            counts[enc.name] = per_key
    return counts


def rows_using(engine: Engine, tables: Sequence[EncryptedTable], kid: str) -> int:
    with engine.connect() as conn:
        total = 0
        for enc in tables:
            raw = enc.raw()
            using = or_(*(_under(raw, name, kid) for name, _ in enc.columns))
            total += conn.execute(select(func.count()).select_from(raw).where(using)).scalar_one()
        return total


def rotate_key(store: KeyStore) -> KeyRing:
    """Put a new current key in front of the key file's ring (re-encrypting is `reencrypt`'s job)."""
    ring = store.fresh().with_new_key()
    store.save(ring)
    return ring


def retire_key(store: KeyStore, engine: Engine, tables: Sequence[EncryptedTable], kid: str) -> KeyRing:
    """Remove `kid` from the key file, refused while it is current or any value still uses it."""
    ring = store.fresh()
    remaining = ring.without(kid)  # refuses the current key and an unknown one
    in_use = rows_using(engine, tables, kid)
    if in_use:
        raise KeyRetirementRefused(
            f"{in_use} rows still use data key {kid}: finish the rotation first (`admin_cli.py keys rotate --resume`)"
        )
    store.save(remaining)
    return remaining
