"""Notifications are written to the outbox with the change that causes them, and delivered exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bootstrap import App
from bot.dispatcher import OutboxDispatcher, PermanentSendError, TemporarySendError
from checkout.services import DeliveryChoice, add_to_basket, change_status, place_order
from checkout.status import OrderStatus
from marketplace import outbox
from marketplace.clock import utcnow
from marketplace.outbox import OutboxMessage, OutboxStatus
from tests.conftest import person

HOME = DeliveryChoice("delivery", "1205", "2026-11-25 17:00-19:00", "on_delivery")


def _order(app: App, shop: dict[str, int]) -> str:
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, shop["tomato"], Decimal(2))
        add_to_basket(uow, buyer, shop["wine"], Decimal(1))
        number = place_order(uow, app.settings, buyer, HOME).number
        uow.commit()
    return number


def _messages(app: App) -> list[OutboxMessage]:
    with app.db.uow() as uow:
        rows = list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        uow.session.expunge_all()
        return rows


def test_new_order_notifies_each_vendor_member_in_their_language(app: App, shop: dict[str, int]) -> None:
    number = _order(app, shop)
    messages = _messages(app)
    assert {(m.platform, m.destination) for m in messages} == {("matrix", "@anna:example.org"), ("telegram", "2002")}
    farmer = next(m for m in messages if m.platform == "matrix")
    assert number in farmer.text and "Tomates" in farmer.text and "Chasselas" not in farmer.text
    assert farmer.text.startswith("🛒 Nouvelle commande")  # French by default
    assert all(m.status == OutboxStatus.PENDING for m in messages)


def test_no_notification_survives_a_rolled_back_order(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, shop["tomato"], Decimal(1))
        place_order(uow, app.settings, buyer, HOME)
        uow.rollback()
    assert _messages(app) == []


def test_the_same_cause_twice_is_one_message(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        someone = person(uow, shop["consumer"])
        assert outbox.enqueue(uow, "k:1", someone, "test", "bonjour") is not None
        assert outbox.enqueue(uow, "k:1", someone, "test", "bonjour") is None
        uow.commit()
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_status_changes_reach_the_customer(app: App, shop: dict[str, int]) -> None:
    number = _order(app, shop)
    with app.db.uow() as uow:
        change_status(uow, person(uow, shop["farmer"]), number, OrderStatus.PREPARED, vendor_slug="ferme-test")
        uow.commit()
    to_customer = [m for m in _messages(app) if m.destination == "1001"]
    assert len(to_customer) == 1 and number in to_customer[0].text and "Ferme Test" in to_customer[0].text


class FakeSender:
    """A platform that records what it was asked to send, and can fail on demand."""

    def __init__(self, name: str, idempotent: bool) -> None:
        self.name, self.idempotent = name, idempotent
        self.delivered: list[tuple[str, str]] = []  # (destination, key), deduplicated when idempotent
        self.failures: list[Exception] = []

    async def deliver(self, destination: str, _text: str, key: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        if not (self.idempotent and (destination, key) in self.delivered):
            self.delivered.append((destination, key))
        return f"remote-{len(self.delivered)}"


def _dispatch(app: App, *senders: FakeSender) -> int:
    return asyncio.run(OutboxDispatcher(app.db, list(senders)).deliver_due())


def test_dispatcher_sends_each_message_once_and_marks_it_sent(app: App, shop: dict[str, int]) -> None:
    _order(app, shop)
    telegram, matrix = FakeSender("telegram", False), FakeSender("matrix", True)
    assert _dispatch(app, telegram, matrix) == 2
    assert _dispatch(app, telegram, matrix) == 0
    assert len(telegram.delivered) == 1 and len(matrix.delivered) == 1
    assert {m.status for m in _messages(app)} == {OutboxStatus.SENT}


def test_temporary_errors_are_retried_later_permanent_ones_reported(app: App, shop: dict[str, int]) -> None:
    _order(app, shop)
    telegram, matrix = FakeSender("telegram", False), FakeSender("matrix", True)
    telegram.failures.append(PermanentSendError("Forbidden: bot was blocked by the user"))
    matrix.failures.append(TemporarySendError("502 Bad Gateway"))
    assert _dispatch(app, telegram, matrix) == 0
    by_platform = {m.platform: m for m in _messages(app)}
    assert by_platform["telegram"].status == OutboxStatus.FAILED
    assert by_platform["matrix"].status == OutboxStatus.PENDING and by_platform["matrix"].attempts == 1
    assert _dispatch(app, telegram, matrix) == 0  # not due yet: back-off
    with app.db.uow() as uow:  # time passes
        uow.session.get(OutboxMessage, by_platform["matrix"].id).next_attempt_at = utcnow() - timedelta(seconds=1)
        uow.commit()
    assert _dispatch(app, telegram, matrix) == 1
    with app.db.uow() as uow:
        assert [m.id for m in outbox.needing_attention(uow)] == [by_platform["telegram"].id]


def _killed_after_first_send(app: App, monkeypatch: pytest.MonkeyPatch, *senders: FakeSender) -> None:
    """Run a dispatcher that dies right after the platform accepted its first message."""
    dispatcher = OutboxDispatcher(app.db, list(senders))

    def killed(_message_id: int, _remote_id: str) -> None:
        raise SystemExit("killed")

    monkeypatch.setattr(dispatcher, "_sent", killed)
    with pytest.raises(SystemExit):
        asyncio.run(dispatcher.deliver_due())
    monkeypatch.undo()
    with app.db.uow() as uow:  # the dead dispatcher's lease runs out
        for row in uow.session.scalars(select(OutboxMessage).where(OutboxMessage.lease_until.is_not(None))):
            row.lease_until = utcnow() - timedelta(seconds=1)
        uow.commit()


def test_killed_between_send_and_mark_sent_nothing_is_lost_nor_sent_twice(
    app: App, shop: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _order(app, shop)  # one message to Matrix (sent first), one to Telegram (claimed, never started)
    telegram, matrix = FakeSender("telegram", False), FakeSender("matrix", True)
    _killed_after_first_send(app, monkeypatch, telegram, matrix)
    assert (len(matrix.delivered), len(telegram.delivered)) == (1, 0)
    _dispatch(app, telegram, matrix)
    _dispatch(app, telegram, matrix)
    # Matrix drops a repeat of our transaction id, so the in-flight message was safely sent again.
    assert (len(matrix.delivered), len(telegram.delivered)) == (1, 1)
    assert {m.status for m in _messages(app)} == {OutboxStatus.SENT}


def test_a_telegram_message_in_flight_at_a_crash_is_reported_not_repeated(
    app: App, shop: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _order(app, shop)
    telegram = FakeSender("telegram", False)
    _killed_after_first_send(app, monkeypatch, telegram)
    _dispatch(app, telegram)
    assert len(telegram.delivered) == 1  # Telegram has no idempotency key: never risk a second copy
    with app.db.uow() as uow:
        reported = outbox.needing_attention(uow)
        assert [(m.platform, m.status) for m in reported] == [("telegram", OutboxStatus.IN_DOUBT)]
        assert outbox.requeue(uow, reported[0].id) is not None  # an admin who checked may send it again
        uow.commit()
    _dispatch(app, telegram)
    assert len(telegram.delivered) == 2


def test_two_dispatchers_never_claim_the_same_message(app: App, shop: dict[str, int]) -> None:
    _order(app, shop)
    with app.db.uow() as first, app.db.uow() as second:
        a = outbox.claim_due(first, {"telegram": False, "matrix": True})
        b = outbox.claim_due(second, {"telegram": False, "matrix": True})
    assert len(a) + len(b) == 2 and not {m.id for m in a} & {m.id for m in b}


def test_someone_without_a_chat_address_is_reported_unreachable(app: App, shop: dict[str, int]) -> None:
    with app.db.uow() as uow:
        someone = person(uow, shop["consumer"])
        someone.identities.clear()
        uow.session.flush()
        message = outbox.enqueue(uow, "k:2", someone, "test", "hello")
        uow.commit()
        assert message is not None and message.status == OutboxStatus.UNREACHABLE
        assert [m.key for m in outbox.needing_attention(uow)] == ["k:2"]
