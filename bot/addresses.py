"""Chat addresses as each platform spells its user ids: `telegram:123`, `matrix:@ana:example.org`,
`terminal:demo`. The bot process builds them from the platform's own user id; the action server checks
the sender ids Rasa hands it with the same rules."""

from __future__ import annotations

import re

from marketplace.errors import InvalidInput

PLATFORMS = ("telegram", "matrix", "terminal")
MATRIX_USER = re.compile(r"^@[^:\s]+:\S+$")


def parse_chat_address(address: str) -> tuple[str, str]:
    """`telegram:123` -> ("telegram", "123"); Telegram ids are numbers, Matrix ids `@user:server`."""
    platform, _, external_id = address.strip().partition(":")
    valid = platform in PLATFORMS and bool(external_id) and not any(c.isspace() for c in external_id)
    if platform == "matrix":
        valid = valid and bool(MATRIX_USER.match(external_id))
    if platform == "telegram":
        valid = valid and external_id.isdigit()
    if not valid:
        raise InvalidInput(field="chat_address", value=address)
    return platform, external_id
