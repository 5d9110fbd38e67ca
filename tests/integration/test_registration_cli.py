"""`admin_cli.py vendor applications|approve|refuse`: the same decisions as the admins' buttons."""

from __future__ import annotations

from sqlalchemy import select

from bootstrap import App
from marketplace.accounts import Membership, person_for_chat
from marketplace.applications import ApplicationDraft, VendorApplication, submit_application
from marketplace.outbox import OutboxMessage
from tests.integration.test_admin_cli import Run, app, cli, rows, words  # noqa: F401 (fixtures)

DRAFT = ApplicationDraft(
    kind="delivery", trade_name="Vélo Courses", address="Rue de Carouge 50, 1205 Genève",
    iban="CH93 0076 2011 6238 5295 7", uid="", leman_share_pct=100, description="Livraisons à vélo cargo.",
    terms_version="2026-11",
)  # fmt: skip


def apply(app: App, address: str) -> int:  # noqa: F811
    with app.db.uow() as uow:
        number = submit_application(uow, person_for_chat(uow, address, "en"), DRAFT, "en").id
        uow.commit()
    return number


def test_applications_are_listed_shown_and_approved(cli: Run, app: App) -> None:  # noqa: F811
    number = apply(app, "telegram:42")
    code, out = cli("vendor", "applications")
    assert code == 0 and rows(out)[0][0] == f"#{number}" and rows(out)[0][2:4] == ["Delivery company", "Vélo Courses"]
    code, out = cli("vendor", "applications", str(number))
    assert code == 0 and "CH93 0076 2011 6238 5295 7" in out and "none (sole trader)" in words(out)
    code, out = cli("vendor", "approve", f"#{number}")
    assert code == 0 and "velo-courses" in out
    with app.db.uow() as uow:
        owner = uow.session.scalar(select(Membership))
        assert (owner.role, owner.is_owner, owner.organisation.kind) == ("courier", True, "delivery")
        told = uow.session.scalars(select(OutboxMessage)).all()
        assert [m.text.split(":")[0] for m in told] == ["Good news"] and "/runs" in told[0].text
    assert cli("vendor", "applications")[1].count("Vélo Courses") == 0
    code, out = cli("vendor", "approve", str(number))
    assert code == 1 and "already been decided" in out


def test_refusal_needs_a_reason_and_tells_the_applicant(cli: Run, app: App) -> None:  # noqa: F811
    number = apply(app, "telegram:43")
    code, _ = cli("vendor", "refuse", str(number))
    assert code != 0  # --reason is required
    code, _ = cli("vendor", "refuse", str(number), "--reason", "Zone already covered")
    assert code == 0
    with app.db.uow() as uow:
        row = uow.session.get(VendorApplication, number)
        assert (row.status, row.refusal_reason) == ("refused", "Zone already covered")
        told = uow.session.scalar(select(OutboxMessage))
        assert told.text == "Your application for Vélo Courses was not accepted. Reason: Zone already covered"
    assert cli("vendor", "refuse", "999", "--reason", "x")[1].strip() == "There is no application no. 999."
