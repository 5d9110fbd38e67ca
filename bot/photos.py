"""A photo a vendor sends in the chat becomes a product's picture, the same on Telegram (a photo message: its
largest size) and Matrix (`m.image`): the adapters only say how to fetch the bytes and how big the platform says
they are; this module checks who sends it, refuses an oversized photo before downloading it, and hands the
bytes to the core (`work/products.set_photo`: type by content, owner-only file in the media folder).

The photo is for the product named in its caption, else the vendor's latest product (the one just created).
Someone who is no vendor's member gets the usual "text only" answer, and nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.commands import Incoming
from bot.rasa_client import BotMessage
from marketplace.accounts import person_for_chat
from marketplace.errors import MarketplaceError
from marketplace.i18n import error_message, resolve_language, translate
from marketplace.media import PhotoRefused, check_photo_size
from work.products import latest_product, set_photo
from work.vendors import match_own_product

if TYPE_CHECKING:
    from bootstrap import App
    from bot.router import Router

log = logging.getLogger(__name__)


def product_photo(app: App, incoming: Incoming, data: bytes) -> list[BotMessage]:
    """Store `data` as the picture of the sender's product (synchronous: run in a worker thread)."""
    with app.db.uow() as uow:
        person = person_for_chat(uow, incoming.address, incoming.language)
        lang = resolve_language(app.settings.languages, chosen=person.language, platform=incoming.language)
        try:
            caption = incoming.text.strip()[:200]
            named = match_own_product(uow, person, caption, lang).exact if caption else None
            product = named or latest_product(uow, person, lang)
            if product is None:
                return [BotMessage(translate("photo.no_product", lang))]
            shown = set_photo(uow, person, product.id, data, app.settings.media_dir, lang)
            uow.commit()
        except MarketplaceError as error:
            uow.rollback()
            return [BotMessage(error_message(error, lang))]
    log.info("product photo stored for product %s", shown.id)
    return [BotMessage(translate("photo.saved", lang, product=shown.name))]


async def receive_photo(
    router: Router, incoming: Incoming, size: int | None, fetch: Callable[[], Awaitable[bytes]]
) -> list[BotMessage]:
    """A photo sent by `incoming`'s author (`incoming.text`: its caption), `size` bytes as the platform announces
    it: the answer to send back. `fetch` downloads it, only once the sender and the size are checked."""
    commands = router.commands
    if not await asyncio.to_thread(commands.is_vendor, incoming.address):
        return [BotMessage(translate("bot.text_only", await router.language(incoming)))]
    try:
        check_photo_size(size)
        data = await fetch()
        check_photo_size(len(data))  # the platform's figure may be missing or wrong
    except PhotoRefused as refused:
        return [BotMessage(error_message(refused, await router.language(incoming)))]
    except Exception as exc:  # the platform's download failed: say so, keep the bot running
        log.warning("photo download failed: %s", type(exc).__name__)
        return [BotMessage(translate("photo.failed", await router.language(incoming)))]
    return await asyncio.to_thread(product_photo, commands.app, incoming, data)


