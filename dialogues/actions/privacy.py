"""A person's data rights asked in words: « qu'est-ce que vous savez sur moi ? », "delete my data".

The work is the bot process's `/mydata` and `/forget` (bot/commands.py): Rasa stores the current turn only
after an action returns, so an erasure run here would leave that turn behind, and /forget's question holds a
one-time code the bot keeps. These actions answer with the command for the router to run for the person (the
custom payload {"command": ...}, `BotMessage.command`); a client that does not run it shows its caption, which
names the command to send.
"""

from __future__ import annotations

from rasa_sdk.events import EventType

from dialogues.actions.base import MarketplaceAction, Turn


def ask_bot(turn: Turn, command: str, caption_key: str) -> None:
    turn.reply.dispatcher.utter_message(json_message={"command": command, "caption": turn.reply.t(caption_key)})


class ActionRequestMyData(MarketplaceAction):
    """« Quelles données avez-vous sur moi ? »: the JSON file of /mydata."""

    action_name = "action_request_my_data"

    def handle(self, turn: Turn) -> list[EventType]:
        ask_bot(turn, "/mydata", "privacy.words.mydata")
        return []


class ActionForgetMe(MarketplaceAction):
    """« Oubliez-moi »: /forget's question, whose buttons confirm or cancel the erasure."""

    action_name = "action_forget_me"

    def handle(self, turn: Turn) -> list[EventType]:
        ask_bot(turn, "/forget", "privacy.words.forget")
        return []
