"""Hostile input through the REST channel of a real Rasa, its trained model and the action server.

The bot process cleans what people type before Rasa sees it (bot/router.py; tests/integration/
test_hostile_input.py), but Rasa's REST channel is also what local scripts post to: whatever reaches it must
be answered without a crash, in the person's language, and garbage must change nothing in the marketplace.
A small budget of examples (Rasa answers a turn in about 0.1 s, a 100 kB one in seconds); `make fuzz` more.
Only the `stack` fixture's client is used to talk to Rasa, so that it carries whatever the channel requires.
"""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from sqlalchemy import select

from bot.router import MAX_TEXT
from catalog.models import Product
from checkout.services import add_to_basket
from marketplace.accounts import person_for_chat
from marketplace.i18n import translate
from tests.e2e.conftest import Stack
from tests.support.hostile import budget, languages_of, snapshot, typed_text

pytestmark = pytest.mark.e2e

EXAMPLES = 200 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 12
OOPS = {translate("reply.oops", lang) for lang in ("fr", "de", "it", "en")}


def german_with_a_basket(stack: Stack) -> str:
    """A new German-speaking customer with one product in the basket (so that garbage emptying it shows)."""
    sender = stack.new_sender()
    with stack.db.uow() as uow:
        product = uow.session.scalars(select(Product).where(Product.stock > 0).order_by(Product.id)).first()
        add_to_basket(uow, person_for_chat(uow, sender, "de"), product.id, Decimal("1"))
        uow.commit()
    return sender


def assert_harmless(answer: list, before: dict, stack: Stack) -> None:
    """No crash inside, nothing said in a language other than German, nothing changed in the marketplace."""
    for message in answer:
        lines = [line.strip() for line in message.text.splitlines() if line.strip()]
        assert not OOPS & set(lines), "an action failed inside"
        for line in lines:
            found = languages_of(line)
            assert not found or "de" in found, line[:200]
    assert snapshot(stack.db) == before, [m.text[:200] for m in answer]


def test_typed_garbage_through_rasa_changes_nothing(stack: Stack) -> None:
    sender = german_with_a_basket(stack)

    @settings(budget(), max_examples=EXAMPLES)
    @given(text=typed_text().filter(lambda t: len(t) <= MAX_TEXT and not t.strip().startswith("/")))
    @example(text="\x00\x00")
    @example(text="'; DROP TABLE people; --")
    @example(text="<b>Honig</b> & <script>alert(1)</script>")
    @example(text="\u202eginoH")
    @example(text="Honig " * (MAX_TEXT // 6))  # the longest the bot passes on (Rasa spends ~35 s on 100 kB)
    def check(text: str) -> None:
        before = snapshot(stack.db)
        answer = stack.rasa.send(sender, text, {"language": "de"})
        assert_harmless(answer, before, stack)

    check()


# Payloads naming an intent the domain does not know, or not well formed, as a local script could post them. Rasa
# leaves such text to the NLU, which reads "/forget" as clear_basket: the bot never sends it (bot/router.py answers
# unknown commands itself); the REST channel reads them as not understood (rasa_plugins/rasa_channels.py).
UNKNOWN_INTENTS = ["/forget", "/xyz", "/_x", "/", "/aide", '/add_to_basket{"product": ', "/greet@x", "/ greet"]


@pytest.mark.parametrize("payload", UNKNOWN_INTENTS)
def test_an_unknown_intent_posted_to_rasa_changes_nothing(stack: Stack, payload: str) -> None:
    sender = german_with_a_basket(stack)
    before = snapshot(stack.db)
    answer = stack.rasa.send(sender, payload, {"language": "de"})
    assert_harmless(answer, before, stack)


def test_a_message_longer_than_the_bots_limit_is_refused_before_any_work(stack: Stack) -> None:
    """Rasa spends tens of seconds of CPU on a 100 kB message, blocking every other conversation: the REST
    channel refuses it with 413, like the bots refuse it themselves, and nothing reaches the conversation."""
    import urllib.error

    sender = german_with_a_basket(stack)
    before = snapshot(stack.db)
    for text in ("Honig " * (MAX_TEXT // 6) + "x" * MAX_TEXT, "é" * 100_000):
        with pytest.raises(urllib.error.HTTPError) as refused:
            stack.rasa.send(sender, text, {"language": "de"})
        assert refused.value.code == 413
    assert snapshot(stack.db) == before
    assert stack.rasa.send(sender, "Honig", {"language": "de"})  # and the conversation goes on
