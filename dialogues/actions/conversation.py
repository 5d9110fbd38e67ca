"""Small talk, help, language, and what to say when the assistant did not understand."""

from __future__ import annotations

from rasa_sdk.events import EventType, SlotSet

from dialogues.actions.base import MarketplaceAction, Turn
from dialogues.actions.shopping import shop_if_asked, suggest_categories
from dialogues.actions.vendor_products import search_if_catalog_names, translate_if_said
from marketplace.settings import SUPPORTED_LANGUAGES

LANGUAGE_WORDS = {
    "fr": ("fr", "franc", "französisch", "francese", "french"),
    "de": ("de", "allem", "deutsch", "tedesco", "german"),
    "it": ("it", "ital"),
    "en": ("en", "angl", "englisch", "inglese", "english"),
}


class ActionSmallTalk(MarketplaceAction):
    action_name = "action_small_talk"

    def handle(self, turn: Turn) -> list[EventType]:
        if (shopped := shop_if_asked(turn)) is not None:  # « Bonjour, je voudrais 2 kg de pommes » shops
            return shopped
        # A product created by chat today is a word the model never saw: its search can read as out of scope.
        if turn.intent == "out_of_scope" and (found := search_if_catalog_names(turn)) is not None:
            return found
        intent = turn.intent if turn.intent in SMALL_TALK else "out_of_scope"
        turn.reply.say(f"reply.{intent}", name=turn.app.settings.name, currency=turn.app.settings.local_currency.name)
        if intent in ("greet", "help", "out_of_scope"):
            suggest_categories(turn)
            turn.reply.button("button.show_basket", "/show_basket")
        return []


SMALL_TALK = {"greet", "goodbye", "thank", "help", "bot_challenge", "out_of_scope", "affirm", "deny"}
SMALL_TALK |= {"choose_delivery", "choose_payment"}


class ActionFallback(MarketplaceAction):
    action_name = "action_fallback"

    def handle(self, turn: Turn) -> list[EventType]:
        if (shopped := shop_if_asked(turn)) is not None:  # « je prends 3 baguettes » not understood, still plain
            return shopped
        if (named := translate_if_said(turn)) is not None:  # a vendor naming a product in another language
            return named
        if (found := search_if_catalog_names(turn)) is not None:  # a product newer than the model
            return found
        turn.reply.say("reply.fallback")
        suggest_categories(turn)
        turn.reply.button("button.help", "/help")
        return []


class ActionChangeLanguage(MarketplaceAction):
    action_name = "action_change_language"

    def handle(self, turn: Turn) -> list[EventType]:
        wanted = (turn.entity("language") or "").lower()
        if wanted not in SUPPORTED_LANGUAGES:
            text = turn.text.lower()
            wanted = next((lang for lang, words in LANGUAGE_WORDS.items() if any(w in text for w in words[1:])), "")
        if wanted not in turn.app.settings.languages:
            turn.reply.say("reply.language.unknown", languages=", ".join(turn.app.settings.languages))
            return []
        turn.person.language = wanted
        turn.reply.lang = wanted
        turn.reply.say("reply.language.changed")
        return [SlotSet("language", wanted)]
