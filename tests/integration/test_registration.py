"""Businesses join by chat: the application's checks, the admins' buttons (and who may press them), refusal with a
reason, the applicant's rights before and after approval, the owner's team (single-use /invite, owner-only
removal), the admin command line, and the registration form's validator run without Rasa."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bootstrap import App
from bot.commands import Commands, Incoming
from bot.rasa_client import BotMessage
from dialogues.actions.registration import (
    FORM_SLOTS,
    ActionSubmitRegistration,
    ValidateRegistrationForm,
    name_in,
    parse_categories,
    parse_kind,
)
from marketplace.accounts import Membership, Organisation, Person, person_for_chat
from marketplace.applications import (
    ApplicationDecided,
    ApplicationDraft,
    ApplicationStatus,
    InvalidIban,
    InvalidUid,
    VendorApplication,
    normalise_iban,
    normalise_uid,
    submit_application,
)
from marketplace.errors import PermissionDenied
from marketplace.i18n import translate
from marketplace.outbox import OutboxMessage, claim_due
from tests.support.actions import Outcome, run, served, tracker  # noqa: F401 (served is a fixture)

APPLICANT = "telegram:5005"
ADMIN = "telegram:9009"
OTHER_ADMIN = "matrix:@coop:example.org"
NOBODY = "telegram:7007"  # a consumer who found the button's payload
IBAN = "CH93 0076 2011 6238 5295 7"
DRAFT = ApplicationDraft(
    kind="producer",
    trade_name="Ferme des Tilleuls",
    address="Chemin des Tilleuls 4, 1242 Satigny",
    iban=IBAN,
    uid="CHE-109.322.551",
    leman_share_pct=30,
    categories=("vegetables", "eggs"),
    description="Légumes de saison et œufs de poules en plein air.",
    terms_version="2026-11",
)
DOMAIN = {"forms": {"registration_form": {"required_slots": list(FORM_SLOTS)}}}


@pytest.fixture
def commands(app: App) -> Commands:
    with app.db.uow() as uow:
        for address, lang in ((ADMIN, "fr"), (OTHER_ADMIN, "de")):
            admin = person_for_chat(uow, address, lang)
            admin.is_admin = True
        person_for_chat(uow, APPLICANT, "fr")
        uow.commit()
    return Commands(app)


def say(commands: Commands, address: str, text: str, lang: str = "fr") -> list[BotMessage]:
    return commands.handle(Incoming(address, text, lang))


def text_of(replies: list[BotMessage]) -> str:
    return "\n".join(r.text for r in replies)


def apply(app: App, draft: ApplicationDraft = DRAFT, address: str = APPLICANT) -> int:
    with app.db.uow() as uow:
        application = submit_application(uow, person_for_chat(uow, address), draft, "fr")
        uow.commit()
        return application.id


def outbox(app: App) -> list[SimpleNamespace]:
    """The outbox rows, as plain values."""
    with app.db.uow() as uow:
        rows = uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [SimpleNamespace(destination=r.destination, platform=r.platform, text=r.text, buttons=r.buttons)
                for r in rows]  # fmt: skip


def status_of(app: App, number: int) -> tuple[str, str, int | None]:
    with app.db.uow() as uow:
        row = uow.session.get(VendorApplication, number)
        return row.status, row.refusal_reason, row.organisation_id


# --- the checks of each field ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uid",
    # Published UIDs (uid.admin.ch): python-stdnum's example, and two large Swiss companies.
    ["CHE-100.155.212", "CHE-109.322.551", "CHE-116.281.710", "che 105 909 036", "CHE-105.909.036 MWST"],
)
def test_real_uids_pass_their_check_digit(uid: str) -> None:
    assert normalise_uid(uid).startswith("CHE-") and len(normalise_uid(uid)) == 15


@pytest.mark.parametrize("uid", ["CHE-100.155.213", "CHE-109.322.552", "CHE-123.456.789", "CHE-12.345", "123", "DE123"])
def test_a_wrong_check_digit_or_shape_is_refused(uid: str) -> None:
    with pytest.raises(InvalidUid):
        normalise_uid(uid)


def test_iban_is_checked_and_must_be_swiss_or_liechtenstein() -> None:
    assert normalise_iban(IBAN) == "CH9300762011623852957"
    with pytest.raises(InvalidIban):
        normalise_iban("CH93 0076 2011 6238 5295 8")  # one digit off
    with pytest.raises(InvalidIban):
        normalise_iban("DE89 3704 0044 0532 0130 00")  # valid, but no Swiss payout


def test_the_words_of_the_form_are_read_in_four_languages() -> None:
    assert [parse_kind(t) for t in ("Je suis producteur", "Wir sind ein Hofladen", "sono un corriere", "repairs")] == [
        "producer", "shop", "delivery", "service",
    ]  # fmt: skip
    assert parse_categories("légumes et fromages") == ["vegetables", "cheese"]
    assert parse_categories("Wein und Honig") == ["honey", "wine"]
    assert name_in("appelez-moi Ana") == "Ana" and name_in("mi chiamo Luca Rossi") == "Luca Rossi"


# --- applying, the admins' buttons, deciding ---------------------------------------------------------------


@pytest.mark.usefixtures("commands")
def test_an_application_is_pending_and_every_admin_gets_it_with_two_buttons(app: App) -> None:
    number = apply(app)
    assert status_of(app, number) == (ApplicationStatus.PENDING, "", None)
    notices = outbox(app)
    assert len(notices) == 2  # both admins, each in their language
    french = next(n for n in notices if n.destination == "9009")
    assert "Ferme des Tilleuls" in french.text and "CH93 0076 2011 6238 5295 7" in french.text
    approve, refuse = ["✅ Approuver", f"/approve {number}"], ["❌ Refuser (avec un motif)", f"/refuse {number}"]
    assert french.buttons == [approve, refuse]
    german = next(n for n in notices if n.platform == "matrix")
    assert german.text.startswith("Neue Anmeldung")
    with app.db.uow() as uow:  # the buttons reach the channels with the message
        claimed = claim_due(uow, {"telegram": False, "matrix": True})
    assert {c.buttons for c in claimed} == {
        (("✅ Approuver", f"/approve {number}"), ("❌ Refuser (avec un motif)", f"/refuse {number}")),
        (("✅ Annehmen", f"/approve {number}"), ("❌ Ablehnen (mit Begründung)", f"/refuse {number}")),
    }


@pytest.mark.usefixtures("commands")
def test_a_second_application_while_one_is_pending_is_refused(app: App) -> None:
    number = apply(app)
    with app.db.uow() as uow, pytest.raises(Exception, match="application_already_pending"):
        submit_application(uow, person_for_chat(uow, APPLICANT), DRAFT, "fr")
    assert number


def test_the_applicant_cannot_sell_before_approval(app: App, commands: Commands) -> None:
    apply(app)
    reply = text_of(say(commands, APPLICANT, "/stock tomates 12"))
    assert "réservé aux producteurs" in reply
    assert "Seul·e le ou la responsable" in text_of(say(commands, APPLICANT, "/invite"))  # nor invite anyone


def test_admin_approves_by_button_and_the_applicant_becomes_owner(app: App, commands: Commands) -> None:
    number = apply(app)
    reply = text_of(say(commands, ADMIN, f"/approve {number}"))
    assert reply.startswith(f"Demande n° {number} approuvée : Ferme des Tilleuls (ferme-des-tilleuls)")
    status, _, org_id = status_of(app, number)
    assert status == ApplicationStatus.APPROVED and org_id is not None
    with app.db.uow() as uow:
        org = uow.session.get(Organisation, org_id)
        assert (org.slug, org.kind, org.status, org.leman_share_pct, org.place) == (
            "ferme-des-tilleuls", "producer", "approved", 30, "Satigny",
        )  # fmt: skip
        owner = uow.session.scalar(select(Membership).where(Membership.organisation_id == org_id))
        assert owner.is_owner and owner.role == "vendor_member"
    told = outbox(app)[-1]
    assert told.destination == "5005" and told.text.startswith("Bonne nouvelle : l'inscription de Ferme des Tilleuls")
    assert "/stock" in told.text and "/invite" in told.text
    # Now a vendor: the stock command asks about its own (empty) catalog instead of refusing.
    assert "réservé" not in text_of(say(commands, APPLICANT, "/stock tomates 12"))
    assert "invite" in commands.menu_for(APPLICANT)[1]
    # Pressed twice, or by the other admin a moment later: already decided.
    assert "déjà été traitée" in text_of(say(commands, ADMIN, f"/approve {number}"))


def test_a_non_admin_pressing_approve_or_refuse_changes_nothing(app: App, commands: Commands) -> None:
    number = apply(app)
    for pressed in (f"/approve {number}", f"/refuse {number} spam"):
        reply = text_of(say(commands, NOBODY, pressed))
        assert reply and "approuvée" not in reply and "refusée" not in reply
        reply = text_of(say(commands, APPLICANT, pressed))  # the applicant approving themselves
        assert "approuvée" not in reply and "refusée" not in reply
    assert status_of(app, number) == (ApplicationStatus.PENDING, "", None)
    with app.db.uow() as uow:
        assert uow.session.scalar(select(Organisation.id)) is None


def test_a_suspended_admin_has_no_button_rights(app: App, commands: Commands) -> None:
    number = apply(app)
    with app.db.uow() as uow:
        person_for_chat(uow, ADMIN).status = "suspended"
        uow.commit()
    say(commands, ADMIN, f"/approve {number}")
    assert status_of(app, number)[0] == ApplicationStatus.PENDING


def test_refusal_asks_for_a_reason_then_tells_the_applicant(app: App, commands: Commands) -> None:
    number = apply(app)
    asked = text_of(say(commands, ADMIN, f"/refuse {number}"))  # the button carries no reason
    assert f"/refuse {number}" in asked and status_of(app, number)[0] == ApplicationStatus.PENDING
    done = text_of(say(commands, ADMIN, f"/refuse {number} Numéro IDE introuvable au registre"))
    assert done.startswith(f"Demande n° {number} refusée")
    assert status_of(app, number) == (ApplicationStatus.REFUSED, "Numéro IDE introuvable au registre", None)
    told = outbox(app)[-1]
    assert told.destination == "5005"
    assert told.text == (
        "Votre demande d'inscription pour Ferme des Tilleuls n'a pas été acceptée. "
        "Motif : Numéro IDE introuvable au registre"
    )
    with app.db.uow() as uow:
        assert not person_for_chat(uow, APPLICANT).memberships
    assert "réservé" in text_of(say(commands, APPLICANT, "/stock tomates 12"))


@pytest.mark.usefixtures("commands")
def test_deciding_checks_rights_in_the_core(app: App) -> None:
    from marketplace.applications import approve_application, refuse_application

    number = apply(app)
    with app.db.uow() as uow:
        with pytest.raises(PermissionDenied):
            approve_application(uow, number, person_for_chat(uow, NOBODY))
        with pytest.raises(PermissionDenied):
            refuse_application(uow, number, person_for_chat(uow, APPLICANT), "no")
        approve_application(uow, number, None)  # the CLI
        uow.commit()
    with app.db.uow() as uow, pytest.raises(ApplicationDecided):
        refuse_application(uow, number, person_for_chat(uow, ADMIN), "too late")


# --- the owner's team -----------------------------------------------------------------------------------------


def approved_owner(app: App, commands: Commands) -> None:
    number = apply(app)
    say(commands, ADMIN, f"/approve {number}")


def code_in(reply: str) -> str:
    return reply.split("/link ", 1)[1].split()[0]


def test_invite_gives_a_single_use_code_and_a_telegram_deep_link(app: App, commands: Commands) -> None:
    approved_owner(app, commands)
    commands.telegram_username = "GeConsommeLocalBot"
    reply = text_of(say(commands, APPLICANT, "/invite"))
    code = code_in(reply)
    assert f"https://t.me/GeConsommeLocalBot?start=l_{code}" in reply
    assert "Ferme des Tilleuls" in text_of(say(commands, "telegram:3003", f"/link {code}"))
    assert text_of(say(commands, "telegram:4004", f"/link {code}")) == translate("error.invalid_link_code", "fr")
    with app.db.uow() as uow:
        second = person_for_chat(uow, "telegram:4004")
        assert not second.memberships  # the code worked once
        first = person_for_chat(uow, "telegram:3003")
        assert [(m.organisation.slug, m.is_owner) for m in first.memberships] == [("ferme-des-tilleuls", False)]


def test_only_the_owner_invites_lists_and_removes(app: App, commands: Commands) -> None:
    approved_owner(app, commands)
    code = code_in(text_of(say(commands, APPLICANT, "/invite")))
    say(commands, "telegram:3003", f"/link {code}")
    with app.db.uow() as uow:
        staff = person_for_chat(uow, "telegram:3003")
        staff.display_name = "Léo"
        staff_id, owner_id = staff.id, person_for_chat(uow, APPLICANT).id
        uow.commit()
    # The staff member works for the organisation, but is no owner.
    for command in ("/invite", "/members", f"/members remove #{owner_id}"):
        assert "Seul·e le ou la responsable" in text_of(say(commands, "telegram:3003", command))
    listing = say(commands, APPLICANT, "/members")
    assert f"#{staff_id} Léo · membre" in listing[0].text and "responsable" in listing[0].text
    assert [b.payload for b in listing[0].buttons] == [f"/members remove #{staff_id}"]
    assert "Vous ne pouvez pas vous retirer" in text_of(say(commands, APPLICANT, f"/members remove #{owner_id}"))
    assert text_of(say(commands, APPLICANT, f"/members remove #{staff_id}")).startswith("Léo ne fait plus partie")
    with app.db.uow() as uow:
        assert not person_for_chat(uow, "telegram:3003").memberships
    assert "réservé" in text_of(say(commands, "telegram:3003", "/stock tomates 3"))


def test_name_used_on_deliveries(app: App, commands: Commands) -> None:
    assert "/name" in text_of(say(commands, NOBODY, "/name"))
    assert text_of(say(commands, NOBODY, "/name Ana Lopes")) == (
        "C'est noté, je vous appellerai Ana Lopes. Ce nom figurera sur vos livraisons."
    )
    with app.db.uow() as uow:
        assert person_for_chat(uow, NOBODY).display_name == "Ana Lopes"


# --- the registration form, without Rasa -----------------------------------------------------------------------


def form_step(slots: dict, text: str, intent: str = "nlu_fallback", entities: dict | None = None) -> Outcome:
    """One answer to the form: its outcome, with `requested_slot` as Rasa's form then sets it (the first empty
    slot, when the validator leaves it to Rasa)."""
    done = run(
        ValidateRegistrationForm(),
        tracker(text, intent, entities, sender=APPLICANT, slots=slots, active_loop="registration_form"),
        DOMAIN,
    )
    after = slots | done.slots
    if "requested_slot" not in done.slots:
        missing = [s for s in FORM_SLOTS if after.get(s) is None]
        done.events.append({"event": "slot", "name": "requested_slot", "value": missing[0] if missing else None})
    return done


def test_the_form_checks_each_answer_and_takes_corrections(served: App) -> None:  # noqa: F811
    slots: dict = {"requested_slot": None}
    done = form_step(slots, "Je suis productrice et je veux vendre", "register_business")
    assert done.slots["business_kind"] == "producer" and done.slots["requested_slot"] == "trade_name"
    slots |= done.slots
    for answer, slot, value in (
        ("Ferme des Tilleuls", "trade_name", "Ferme des Tilleuls"),
        ("aucun", "business_uid", ""),
        ("Chemin des Tilleuls 4, 1242 Satigny", "business_address", "Chemin des Tilleuls 4, 1242 Satigny"),
    ):
        step = form_step(slots, answer)
        assert step.slots[slot] == value
        slots |= step.slots
    bad = form_step(slots, "CH93 0076 2011 6238 5295 8")
    assert bad.slots["business_iban"] is None and "IBAN n'est pas valable" in bad.text
    good = form_step(slots, IBAN)
    assert good.slots["business_iban"] == "CH9300762011623852957"
    slots |= good.slots
    change = form_step(slots, "changer le nom")
    assert change.slots["trade_name"] is None and change.slots["requested_slot"] == "trade_name"
    slots |= change.slots
    slots |= form_step(slots, "Les Tilleuls").slots
    assert slots["requested_slot"] == "leman_share"
    slots |= form_step(slots, "/affirm", "affirm", {"leman_share": "20"}).slots
    slots |= form_step(slots, "légumes et œufs").slots
    slots |= form_step(slots, "Légumes de saison et œufs de poules en plein air.").slots
    assert slots["requested_slot"] == "terms_accepted"
    slots |= form_step(slots, "/affirm", "affirm").slots
    assert slots["terms_accepted"] is True and slots["requested_slot"] is None
    submitted = run(ActionSubmitRegistration(), tracker("/affirm", "affirm", sender=APPLICANT, slots=slots), DOMAIN)
    assert "Votre demande n°" in submitted.text
    with served.db.uow() as uow:
        row = uow.session.scalar(select(VendorApplication))
        assert (row.trade_name, row.uid, row.leman_share_pct, row.categories) == (
            "Les Tilleuls", "", 20, ["vegetables", "eggs"],
        )  # fmt: skip
        assert uow.session.scalar(select(Person).where(Person.is_admin.is_(True))) is None  # none to tell here


def test_a_bad_uid_is_refused_and_cancel_ends_the_form(served: App) -> None:  # noqa: F811
    slots = {"requested_slot": "business_uid", "business_kind": "shop", "trade_name": "Épicerie du Coin"}
    bad = form_step(slots, "CHE-123.456.789")
    assert bad.slots["business_uid"] is None and "n'est pas un numéro IDE valable" in bad.text
    cancelled = form_step(slots, "annuler")
    assert cancelled.slots["terms_accepted"] is False and cancelled.slots["requested_slot"] is None
    told = run(ActionSubmitRegistration(), tracker("annuler", sender=APPLICANT, slots=slots | cancelled.slots), DOMAIN)
    assert told.text == "D'accord, l'inscription est annulée. Rien n'a été envoyé."
    with served.db.uow() as uow:
        assert uow.session.scalar(select(VendorApplication.id)) is None


# --- personal data ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("commands")
def test_erasure_deletes_an_undecided_application_and_an_admin_export_hides_it(app: App) -> None:
    from datetime import UTC, datetime

    from privacy.erase import erase_person
    from privacy.export import export_person

    number = apply(app)
    with app.db.uow() as uow:
        messages = export_person(uow, person_for_chat(uow, ADMIN))["messages_sent_to_you"]
        assert messages and all(m["text"] is None for m in messages)  # someone else's IBAN and address
        [own] = export_person(uow, person_for_chat(uow, APPLICANT))["business_applications"]
        assert (own["number"], own["iban"], own["status"]) == (number, "CH9300762011623852957", "pending")
        erase_person(uow, person_for_chat(uow, APPLICANT), datetime.now(UTC))
        uow.commit()
    with app.db.uow() as uow:
        assert uow.session.get(VendorApplication, number) is None


def test_the_invite_deep_link_links_through_start(app: App, commands: Commands) -> None:
    import asyncio

    from bot.rasa_client import AsyncRasaClient
    from bot.router import Router

    approved_owner(app, commands)
    code = code_in(text_of(say(commands, APPLICANT, "/invite")))

    async def start(text: str) -> list[BotMessage]:
        rasa = AsyncRasaClient("http://127.0.0.1:9")  # never reached: the deep link is a command
        try:
            return await Router(rasa, commands, "telegram").handle(Incoming("telegram:3030", text, "fr"))
        finally:
            await rasa.close()

    replies = asyncio.run(start(f"/start l_{code.replace('-', '')}"))
    assert "Ferme des Tilleuls" in replies[-1].text
    assert "Ferme des Tilleuls" not in asyncio.run(start(f"/start l_{code}"))[-1].text  # used: once only


@pytest.mark.usefixtures("commands")
def test_the_dispatcher_hands_the_buttons_to_the_channel(app: App) -> None:
    import asyncio

    from bot.dispatcher import OutboxDispatcher

    class Channel:
        name, idempotent = "telegram", False

        def __init__(self) -> None:
            self.sent: list[tuple[str, tuple[tuple[str, str], ...]]] = []

        async def deliver(self, destination: str, _text: str, _key: str, buttons: tuple = ()) -> str:
            self.sent.append((destination, buttons))
            return "1"

    number, channel = apply(app), Channel()
    assert asyncio.run(OutboxDispatcher(app.db, [channel]).deliver_due()) == 1
    assert channel.sent == [
        ("9009", (("✅ Approuver", f"/approve {number}"), ("❌ Refuser (avec un motif)", f"/refuse {number}")))
    ]
