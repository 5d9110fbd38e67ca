"""How far a chat channel has read its event stream (e.g. Matrix's sync token), kept in the database so
a restarted bot starts where it stopped and never answers a message twice. Channel state, not core."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.clock import utcnow
from marketplace.db import Base, UnitOfWork


class ChannelCursor(Base):
    __tablename__ = "channel_cursors"

    channel: Mapped[str] = mapped_column(String(300), primary_key=True)
    position: Mapped[str] = mapped_column(String(255), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


def read_cursor(uow: UnitOfWork, channel: str) -> str:
    row = uow.session.get(ChannelCursor, channel)
    return row.position if row else ""


def save_cursor(uow: UnitOfWork, channel: str, position: str) -> None:
    row = uow.session.get(ChannelCursor, channel)
    if row is None:
        uow.session.add(ChannelCursor(channel=channel, position=position))
    else:
        row.position = position
