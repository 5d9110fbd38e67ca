"""Whom a request is about: the person an admin names (`#12`, a chat address, a display name), and the chat
addresses under which their conversations are kept."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.accounts import Person, matching_people
from marketplace.db import UnitOfWork
from marketplace.errors import NotFound


class PersonNotFound(NotFound):
    """Nobody (or more than one person) answers to `person`: a display name two people share needs the number."""

    code = "person_not_found"


def find_person(uow: UnitOfWork, who: str) -> Person:
    """The person `who` names, by the rules of `vendor remove-member` (marketplace.accounts.matching_people),
    among everyone: their number (`#12`), a chat address (`telegram:123`) or a display name nobody else has."""
    everyone = uow.session.scalars(select(Person).options(selectinload(Person.identities)).order_by(Person.id))
    found = matching_people(everyone, who)
    if len(found) != 1:
        raise PersonNotFound(person=who.strip())
    return found[0]


def chat_addresses(person: Person) -> list[str]:
    """The person's chat addresses (`telegram:123`): the sender ids of their conversations with the bot."""
    return sorted(identity.address for identity in person.identities)
