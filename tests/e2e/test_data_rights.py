"""Data rights asked in words, through the real stack (the bot's router and commands, Rasa's REST channel, the
trained model, the action server, the database): « qu'est-ce que vous savez sur moi ? » brings the JSON export,
"delete my data" the confirmation question, and its answer the erasure of the account and of every event Rasa
stored for the conversation, the turn that asked for it included. Last, the same on Telegram through the bot
process as `python -m bot` builds it (its media policy lets the export out) and the fake Bot API.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bootstrap import App
from bot.commands import Commands, Incoming
from bot.rasa_client import AsyncRasaClient, BotMessage
from bot.router import Router
from catalog.services import CatalogSearch
from marketplace.accounts import ChatIdentity
from marketplace.crypto import KeyStore, bind_keys
from marketplace.i18n import translate
from privacy.conversations import conversation_events
from privacy.notice import duration
from tests.e2e.conftest import BotRunner, Stack, bot_process
from tests.support.telegram_api import FakeTelegramAPI, SentMessage

pytestmark = pytest.mark.e2e

YES = {"fr": "oui", "de": "ja", "it": "sì", "en": "yes"}


@pytest.fixture(autouse=True)
def sealed(stack: Stack) -> None:
    """The export and the erasure open what the servers seal (addresses): with the deployment's keys, as they do."""
    bind_keys(stack.db.engine, KeyStore(stack.settings.data_dir))


def conversation(stack: Stack, exports: Path, sender: str, lang: str, *typed: str) -> list[list[BotMessage]]:
    """What the bot answers to each message typed by `sender`, through a router as the bot process builds it."""

    async def turns() -> list[list[BotMessage]]:
        rasa = AsyncRasaClient(stack.rasa.url, secret=stack.rasa.secret)
        app = App(stack.settings, stack.db, CatalogSearch(stack.settings.default_language))
        router = Router(rasa, Commands(app, exports=exports), "telegram")
        try:
            return [await router.handle(Incoming(sender, text, lang)) for text in typed]
        finally:
            await rasa.close()

    return asyncio.run(turns())


def known(stack: Stack, sender: str) -> bool:
    with stack.db.uow() as uow:
        query = select(ChatIdentity).where(ChatIdentity.external_id == sender.partition(":")[2])
        return uow.session.scalar(query) is not None


def stored_events(stack: Stack, sender: str) -> list[dict]:
    with stack.db.uow() as uow:
        return conversation_events(uow, sender)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("fr", "qu'est-ce que vous savez sur moi ?"),
        ("fr", "mes données"),
        ("en", "what do you know about me"),
        ("de", "welche Daten habt ihr über mich"),
        ("it", "quali dati avete su di me"),
    ],
)
def test_asking_what_is_known_brings_the_export(stack: Stack, tmp_path: Path, lang: str, words: str) -> None:
    sender = stack.new_sender()
    [[sent]] = conversation(stack, tmp_path, sender, lang, words)

    assert sent.text == translate("privacy.mydata.sent", lang)
    data = json.loads(Path(sent.document).read_text("utf-8"))
    assert [identity["address"] for identity in data["chat_identities"]] == [sender]
    assert data["account"]["language"] == lang
    [kept] = data["conversations"]
    # The turn that asked is in it: Rasa stored it before answering, and the bot ran the command after.
    assert kept["address"] == sender and words in [event.get("text") for event in kept["events"]]


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "delete my data"),
        ("fr", "oubliez-moi"),
        ("fr", "supprimez mes données"),
        ("de", "löscht meine Daten"),
        ("it", "cancellate i miei dati"),
    ],
)
def test_asking_to_be_forgotten_asks_first_then_erases_the_account_and_the_conversation(
    stack: Stack, tmp_path: Path, lang: str, words: str
) -> None:
    sender = stack.new_sender()
    [[question]] = conversation(stack, tmp_path, sender, lang, words)
    years = duration(stack.settings.privacy.accounting_years, "years", lang)
    assert question.text == translate("privacy.forget.question", lang, years=years)
    assert [b.title for b in question.buttons] == [translate(f"privacy.forget.{k}", lang) for k in ("yes", "no")]
    assert known(stack, sender) and words in [event.get("text") for event in stored_events(stack, sender)]

    # A new router (as after a restart) forgot the question: the typed yes is a sentence for Rasa, and nothing goes.
    conversation(stack, tmp_path, sender, lang, YES[lang])
    assert known(stack, sender)

    [_, [done]] = conversation(stack, tmp_path, sender, lang, words, YES[lang])
    assert done.text == "\n\n".join(translate(f"privacy.erased.{k}", lang) for k in ("done", "nothing_kept"))
    assert not known(stack, sender)
    assert stored_events(stack, sender) == []


def test_on_telegram_the_words_bring_the_file_and_the_yes_button_erases(stack: Stack) -> None:
    user = 660042

    def after(fake: FakeTelegramAPI, act: Callable[[], object], count: int = 1) -> list[SentMessage]:
        """The bot's messages after the person's act, once `count` of them arrived."""
        seen = len(fake.messages_to(user))
        act()
        deadline = time.monotonic() + 90
        while len(fake.messages_to(user)) < seen + count:
            assert time.monotonic() < deadline, f"no answer: {[m.text for m in fake.messages_to(user)[seen:]]}"
            time.sleep(0.05)
        return fake.messages_to(user)[seen:]

    with FakeTelegramAPI() as fake:
        env = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url,
               "TELEGRAM_FILE_URL": fake.base_file_url}  # fmt: skip
        with BotRunner(bot_process(stack, env)):
            [document] = after(fake, lambda: fake.user_sends(user, "qu'est-ce que vous savez sur moi ?"))
            assert document.kind == "document" and document.caption == translate("privacy.mydata.sent", "fr")
            assert isinstance(document.file, bytes)
            data = json.loads(document.file)
            assert [identity["address"] for identity in data["chat_identities"]] == [f"telegram:{user}"]

            [question] = after(fake, lambda: fake.user_sends(user, "delete my data"))
            assert [title for title, _ in question.buttons] == ["Oui, tout effacer", "Non"]
            [done] = after(fake, lambda: fake.user_presses(user, question.message_id, question.buttons[0][1]))
            assert done.text.startswith(translate("privacy.erased.done", "fr"))
    assert not known(stack, f"telegram:{user}") and stored_events(stack, f"telegram:{user}") == []
    assert list((stack.settings.data_dir / "exports").iterdir()) == [], "the file went with the person"
