"""Personal fields sealed at rest (marketplace/crypto.py): AES-256-GCM round trips, values bound to their
column, refused when altered, keys from the environment or an owner-only file, never shown."""

from __future__ import annotations

import base64
import logging
import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text

from marketplace.crypto import (
    DATA_KEYS,
    DataKey,
    DataKeysError,
    EncryptedDecimal,
    EncryptedText,
    KeyRetirementRefused,
    KeyRing,
    KeyStore,
    UnreadableData,
    bind_keys,
    encrypted_tables,
    init_key_file,
    key_id,
    parse_key_ring,
)
from marketplace.secrets import MissingSecret

STREET = "Rue de Carouge 50"
WHERE = "saved_addresses.street"
SECRET = bytes(range(32))
ENTRY = f"k1:{base64.b64encode(SECRET).decode()}"  # as `openssl rand -base64 32` writes it


def ring(*kids: str) -> KeyRing:
    return KeyRing([DataKey(kid, os.urandom(32)) for kid in kids or ("k1",)])


RING = ring("k1")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- sealing -----------------------------------------------------------------------------------------------


@given(st.text(max_size=300))
def test_any_text_comes_back_as_it_was(plain: str) -> None:
    assert RING.decrypt(RING.encrypt(plain, WHERE), WHERE) == plain


def test_a_sealed_value_names_its_key_and_shows_nothing_of_the_text() -> None:
    keys = ring("k1")
    first, second = keys.encrypt(STREET, WHERE), keys.encrypt(STREET, WHERE)
    assert first.startswith("v1:k1:") and key_id(first) == "k1"
    assert first != second  # a fresh nonce each time: equal streets do not look equal
    assert "Carouge" not in first and b"Carouge" not in base64.urlsafe_b64decode(first[6:] + "==")
    assert len(base64.urlsafe_b64decode(first[6:] + "==")) == 12 + len(STREET) + 16  # nonce, text, tag


def test_an_altered_value_is_refused_without_showing_text_or_key(caplog: pytest.LogCaptureFixture) -> None:
    keys = ring("k1")
    token = keys.encrypt(STREET, WHERE)
    body = bytearray(base64.urlsafe_b64decode(token[6:] + "=="))
    body[-1] ^= 1
    altered = "v1:k1:" + base64.urlsafe_b64encode(bytes(body)).decode().rstrip("=")
    for bad in (altered, token[:-4], token + "AAAA", "v1:k1:", "v1:k1:%%%", "v2" + token[2:], "Rue de Carouge 50"):
        with caplog.at_level(logging.DEBUG), pytest.raises(UnreadableData) as refused:
            keys.decrypt(bad, WHERE)
        shown = f"{refused.value} {refused.value.params} {caplog.text}"
        assert "Carouge" not in shown and keys.current.entry.partition(":")[2] not in shown
        assert refused.value.params["where"] == WHERE and refused.value.code == "unreadable_data"


def test_a_value_moved_to_another_column_or_relabelled_with_another_key_is_refused() -> None:
    keys = ring("k1", "k0")
    token = keys.encrypt("+41 79 555 01 23", "saved_addresses.phone")
    with pytest.raises(UnreadableData) as refused:
        keys.decrypt(token, "saved_addresses.details")
    assert refused.value.params["reason"] == "authentication"
    with pytest.raises(UnreadableData):
        keys.decrypt(token, "orders.delivery_phone")
    with pytest.raises(UnreadableData):
        keys.decrypt(token.replace("v1:k1:", "v1:k0:"), "saved_addresses.phone")
    with pytest.raises(UnreadableData) as refused:
        keys.decrypt(token.replace("v1:k1:", "v1:k9:"), "saved_addresses.phone")
    assert refused.value.params == {"where": "saved_addresses.phone", "key_id": "k9", "reason": "unknown_key"}
    assert keys.decrypt(token, "saved_addresses.phone") == "+41 79 555 01 23"


def test_the_current_key_seals_and_every_known_key_opens() -> None:
    old = ring("k1")
    sealed = old.encrypt(STREET, WHERE)
    new = old.with_new_key()
    assert new.kids[1:] == ("k1",) and new.current.kid != "k1"
    assert key_id(new.encrypt(STREET, WHERE)) == new.current.kid
    assert new.decrypt(sealed, WHERE) == STREET
    with pytest.raises(KeyRetirementRefused):
        new.without(new.current.kid)
    with pytest.raises(UnreadableData):
        new.without("k1").decrypt(sealed, WHERE)


def test_keys_never_show_in_reprs() -> None:
    keys = parse_key_ring(ENTRY, "test")
    assert base64.b64encode(SECRET).decode() not in f"{keys!r} {keys.current!r} {keys.keys!r}"


# --- where the keys come from ------------------------------------------------------------------------------


def test_the_key_ring_reads_entries_first_current_in_env_or_file_form() -> None:
    other = base64.urlsafe_b64encode(bytes(32)).decode()
    env = parse_key_ring(f"k2:{other},{ENTRY}", "$SMARTKET_DATA_KEYS")
    file = parse_key_ring(f"# keys\nk2:{other}\n\n{ENTRY}  # the old one\n", "data-keys")
    assert env.kids == file.kids == ("k2", "k1")
    assert env.keys[1].secret == SECRET  # standard and URL-safe base64 both read


@pytest.mark.parametrize(
    "text",
    ["", "# nothing", "k1", "k1:short", f"{ENTRY},{ENTRY}", f"bad_id:{ENTRY[3:]}", "k1:!!!!"],
)
def test_a_malformed_key_ring_is_refused_without_showing_a_key(text: str) -> None:
    with pytest.raises(DataKeysError) as refused:
        parse_key_ring(text, "$SMARTKET_DATA_KEYS")
    assert ENTRY[3:] not in str(refused.value) and "short" not in str(refused.value)


def test_outside_the_demo_a_missing_key_stops_with_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(DataKeysError) as refused:
        KeyStore(tmp_path, {})
    message = str(refused.value)
    assert DATA_KEYS.env in message and "admin_cli.py keys init" in message and str(tmp_path) in message
    assert isinstance(refused.value, MissingSecret)  # entry points already stop cleanly on those
    assert not (tmp_path / "secrets").exists()


def test_the_demo_creates_an_owner_only_key_file_once(tmp_path: Path) -> None:
    first = KeyStore(tmp_path, {}, create=True)
    path = tmp_path / "secrets" / "data-keys"
    assert first.source == str(path) and not first.from_env
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    again = KeyStore(tmp_path, {}, create=True)
    assert again.ring().kids == first.ring().kids  # read back, not made again
    assert again.ring().decrypt(first.ring().encrypt(STREET, WHERE), WHERE) == STREET
    assert init_key_file(tmp_path) == (path, False)


def test_the_environment_wins_and_cannot_be_rewritten(tmp_path: Path) -> None:
    KeyStore(tmp_path, {}, create=True)
    store = KeyStore(tmp_path, {DATA_KEYS.env: ENTRY})
    assert store.from_env and store.source == "$SMARTKET_DATA_KEYS" and store.ring().kids == ("k1",)
    with pytest.raises(DataKeysError, match="SMARTKET_DATA_KEYS") as refused:
        store.save(store.ring().with_new_key())
    assert ENTRY[3:] not in str(refused.value)


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path, created = init_key_file(tmp_path)
    assert created
    path.chmod(0o640)
    with pytest.raises(MissingSecret, match="can be read by other users"):
        KeyStore(tmp_path, {})


def test_another_process_follows_a_rotation_of_the_key_file(tmp_path: Path) -> None:
    admin = KeyStore(tmp_path, {}, create=True)
    server = KeyStore(tmp_path, {})
    old = server.ring()
    new = admin.ring().with_new_key()
    admin.save(new)
    sealed = new.encrypt(STREET, WHERE)
    assert server.ring(unknown=new.current.kid).decrypt(sealed, WHERE) == STREET  # read again at once
    assert server.ring().current.kid == new.current.kid != old.current.kid
    assert mode(admin.path) == 0o600


# --- the column type ---------------------------------------------------------------------------------------


def _table(metadata: MetaData) -> Table:
    return Table(
        "places",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("street", EncryptedText("places.street")),
        Column("latitude", EncryptedDecimal("places.latitude")),
    )


def test_the_column_type_stores_sealed_text_and_gives_back_values() -> None:
    engine = create_engine("sqlite://")
    places = _table(MetaData())
    places.create(engine)
    keys = ring("k1")
    bind_keys(engine, keys)
    with engine.begin() as conn:
        conn.execute(insert(places).values(id=1, street=STREET, latitude=Decimal("46.1983714")))
        conn.execute(insert(places).values(id=2, street=None, latitude=None))
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT street, latitude FROM places WHERE id = 1")).one()
        assert raw.street.startswith("v1:k1:") and raw.latitude.startswith("v1:k1:")
        assert "Carouge" not in raw.street and "46.19" not in raw.latitude
        assert conn.execute(text("SELECT street FROM places WHERE id = 2")).scalar() is None  # nothing stays NULL
        rows = conn.execute(select(places.c.street, places.c.latitude).order_by(places.c.id)).all()
    assert [tuple(row) for row in rows] == [(STREET, Decimal("46.1983714")), (None, None)]
    with engine.begin() as conn:  # a value copied into another sealed column does not open there
        conn.execute(text("UPDATE places SET latitude = street WHERE id = 1"))
    with engine.connect() as conn, pytest.raises(UnreadableData):
        conn.execute(select(places.c.latitude)).all()
    engine.dispose()


def test_a_database_without_keys_says_how_to_get_them() -> None:
    engine = create_engine("sqlite://")
    places = _table(MetaData())
    places.create(engine)
    with engine.begin() as conn, pytest.raises(Exception, match="no data keys for this database") as refused:
        conn.execute(insert(places).values(id=1, street=STREET))
    assert "Carouge" not in str(refused.value.__cause__ or refused.value).split("[SQL")[0]
    engine.dispose()


def test_a_sealed_column_must_be_declared_with_its_own_table_and_name() -> None:
    metadata = MetaData()
    _table(metadata)
    assert [t.columns for t in encrypted_tables(metadata)] == [
        (("street", "places.street"), ("latitude", "places.latitude"))
    ]
    Table("copies", metadata, Column("id", Integer, primary_key=True), Column("street", EncryptedText("places.street")))
    with pytest.raises(ValueError, match=r"copies\.street"):
        encrypted_tables(metadata)


def test_every_sealed_column_of_the_models_is_bound_to_itself() -> None:
    import checkout.address_book
    import checkout.models  # noqa: F401
    from marketplace.db import Base

    sealed = {where for table in encrypted_tables(Base.metadata) for _, where in table.columns}
    assert {"saved_addresses.street", "saved_addresses.phone", "orders.delivery_street"} <= sealed
    assert {"saved_addresses.latitude", "orders.delivery_longitude", "orders.delivery_details"} <= sealed
    assert not {"saved_addresses.postal_code", "saved_addresses.locality", "orders.postal_code"} & sealed
