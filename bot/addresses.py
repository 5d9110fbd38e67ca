"""Chat addresses as each platform spells its user ids: `telegram:123`, `matrix:@ana:example.org`,
`terminal:demo`. The bot process builds them from the platform's own user id; the action server checks
the sender ids Rasa hands it with the same rules, and refuses any other (`sender_address`)."""

from __future__ import annotations

import re

from marketplace.errors import InvalidInput, PermissionDenied

PLATFORMS = ("telegram", "matrix", "terminal")
# The platforms a sender id may name outside the demo deployment; `terminal:` ids belong to the demo only.
CHAT_PLATFORMS = ("telegram", "matrix")
MATRIX_USER = re.compile(r"^@[^:\s]+:\S+$")
# Telegram user ids have at most 52 significant bits (16 digits); a Matrix user id is at most 255 bytes
# (the spec's limit, and our column's); terminal names are short. Longer ids are nobody's.
MAX_ID_BYTES = {"telegram": 20, "matrix": 255, "terminal": 64}


class UnknownSender(PermissionDenied):
    """A sender id that no bot of ours builds (no known platform prefix, or a terminal id outside the demo):
    nothing is done for it, and no person is created."""

    code = "unknown_sender"


def parse_chat_address(address: str) -> tuple[str, str]:
    """`telegram:123` -> ("telegram", "123"); Telegram ids are numbers, Matrix ids `@user:server`."""
    platform, _, external_id = address.strip().partition(":")
    valid = platform in PLATFORMS and bool(external_id) and not any(c.isspace() for c in external_id)
    valid = valid and len(external_id.encode("utf-8", "surrogatepass")) <= MAX_ID_BYTES.get(platform, 0)
    if platform == "matrix":
        valid = valid and bool(MATRIX_USER.match(external_id))
    if platform == "telegram":
        valid = valid and external_id.isdigit()
    if not valid:
        raise InvalidInput(field="chat_address", value=address)
    return platform, external_id


def sender_address(sender_id: str, *, demo: bool) -> str:
    """The chat address a conversation's sender id is, exactly as a bot of ours spells it; UnknownSender
    for anything else (`bob`, ` telegram:1`, and `terminal:…` outside the demo deployment)."""
    try:
        platform, _ = parse_chat_address(sender_id)
    except InvalidInput:
        raise UnknownSender() from None
    if sender_id != sender_id.strip() or (platform not in CHAT_PLATFORMS and not demo):
        raise UnknownSender()
    return sender_id
