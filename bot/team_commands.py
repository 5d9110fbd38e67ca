"""Commands around joining the marketplace: admins decide on applications, owners manage their team, anyone sets
the name used on deliveries. Mixed into `bot.commands.Commands`, which parses, checks and commits.

- `/approve 12`, `/refuse 12 reason` (the buttons of the admins' notice send `/approve 12` and `/refuse 12`): the
  core refuses anyone without admin rights, whatever they press or type.
- `/invite`: a single-use link code for the owner's organisation, and on Telegram a deep link that redeems it.
- `/members` lists the team with a removal button per member; `/members remove 12` removes one (owner only).
- `/name Ana`: the name couriers and vendors see.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from babel.dates import format_date

from bot.rasa_client import BotMessage, Button
from marketplace.accounts import set_display_name
from marketplace.applications import (
    approve_application,
    invite_member,
    refuse_application,
    remove_team_member,
    team_of,
)
from marketplace.i18n import BABEL_LOCALES

if TYPE_CHECKING:
    from bot.commands import Context

log = logging.getLogger(__name__)

TEAM_COMMANDS = ("approve", "refuse", "invite", "members", "name")
DEEP_LINK_PREFIX = "l_"  # `/start l_CODE` from a t.me link: redeems a link code (bot.router)


def application_number(args: list[str]) -> int | None:
    """ "12" or "#12" -> 12; None for anything else."""
    raw = args[0].removeprefix("#") if args else ""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


class TeamCommands:
    """The commands of this module; `telegram_username` is set by the Telegram channel once connected."""

    telegram_username: str = ""

    def cmd_approve(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        number = application_number(args)
        if number is None:
            return [BotMessage(ctx.t("command.approve.usage"))]
        org = approve_application(ctx.uow, number, ctx.person)
        return [BotMessage(ctx.t("command.approve.done", number=number, name=org.name, slug=org.slug))]

    def cmd_refuse(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        number = application_number(args)
        if number is None:
            return [BotMessage(ctx.t("command.refuse.usage"))]
        reason = " ".join(args[1:])
        if not reason.strip():  # the button: the admin is asked for the reason, which the applicant will read
            return [BotMessage(ctx.t("command.refuse.reason", number=number))]
        refuse_application(ctx.uow, number, ctx.person, reason)
        return [BotMessage(ctx.t("command.refuse.done", number=number))]

    def cmd_invite(self, ctx: Context, _args: list[str]) -> list[BotMessage]:
        invitation = invite_member(ctx.uow, ctx.person)
        when = format_date(invitation.expires_at, "long", locale=BABEL_LOCALES.get(ctx.lang, "fr_CH"))
        lines = [ctx.t(f"command.invite.{invitation.role}", organisation=invitation.organisation)]
        lines.append(ctx.t("command.invite.code", code=invitation.code, expires=when))
        if ctx.address.startswith("telegram:") and self.telegram_username:
            link = f"https://t.me/{self.telegram_username}?start={DEEP_LINK_PREFIX}{invitation.code}"
            lines.append(ctx.t("command.invite.link", link=link))
        return [BotMessage("\n".join(lines))]

    def cmd_members(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        if args and args[0].lower() in ("remove", "retirer", "entfernen", "rimuovi"):
            if len(args) < 2:
                return [BotMessage(ctx.t("command.members.usage"))]
            removed = remove_team_member(ctx.uow, ctx.person, " ".join(args[1:]))
            name = removed.display_name or f"#{removed.person_id}"
            return [BotMessage(ctx.t("command.members.removed", name=name))]
        org, members = team_of(ctx.uow, ctx.person)
        lines = [ctx.t("command.members.title", organisation=org.name)]
        buttons: list[Button] = []
        for member in members:
            name = member.display_name or "—"
            owner = member.person_id == ctx.person.id
            key = "command.members.owner" if owner else f"command.members.{member.role}"
            lines.append(f"#{member.person_id} {name} · {ctx.t(key)}")
            if not owner:
                title = ctx.t("command.members.remove_button", name=name, number=member.person_id)
                buttons.append(Button(title, f"/members remove #{member.person_id}"))
        return [BotMessage("\n".join(lines), tuple(buttons[:12]))]

    def cmd_name(self, ctx: Context, args: list[str]) -> list[BotMessage]:
        if not args:
            shown = ctx.person.display_name or "—"
            return [BotMessage(ctx.t("command.name.usage", name=shown))]
        name = set_display_name(ctx.person, " ".join(args))
        return [BotMessage(ctx.t("command.name.done", name=name))]
