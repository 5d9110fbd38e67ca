"""What an admin reads of delivery addresses (issue 12): `order show` prints the whole address, and
`delivery run COMPANY --format html|pdf|text` prints a company's run sheet for couriers who work on paper:
its own drops in full, nothing of another company's, in a file only its owner reads."""

from __future__ import annotations

import re
import stat
import zlib
from decimal import Decimal
from pathlib import Path

from bootstrap import App
from catalog.services import find_product
from checkout.address_book import DeliveryAddress, set_order_delivery
from checkout.services import DeliveryChoice, add_to_basket, place_order
from marketplace.accounts import OrganisationKind, add_organisation, get_organisation, person_for_chat
from tests.integration import test_admin_cli as admin_cli_tests
from tests.integration.test_admin_cli import Run, _shop, rows, words

# The command line on a throw-away database and data directory, and the app that reads them back.
cli, app = admin_cli_tests.cli, admin_cli_tests.app

D = Decimal
DAY = "2026-11-25"
ADA = DeliveryAddress(
    street="Rue de Carouge 50",
    postal_code="1205",
    locality="Genève",
    recipient_name="Ada Lovelace",
    details="<b>code</b> 4521 & sonnez",  # the customer's own text: escaped in HTML, printed as text
    phone="079 555 01 23",
    latitude=D("46.1983714"),
    longitude=D("6.1426721"),
)
OTHER = DeliveryAddress("Chemin des Secrets 7", "1206", "Genève", "Zoé Autre", "digicode 9999", "+41 22 700 00 07")
OTHER_DATA = ("Chemin des Secrets", "Zoé", "9999", "700 00 07", "227000007")


def _delivered_order(app: App, company: str, address: DeliveryAddress) -> str:
    """2 kg of tomatoes delivered by `company` on DAY, paid on delivery, with `address`."""
    with app.db.uow() as uow:
        buyer = person_for_chat(uow, "telegram:1001")
        add_to_basket(uow, buyer, find_product(uow, "ferme-test", "TOM").id, D(2))
        choice = DeliveryChoice("delivery", address.postal_code, f"{DAY} 17:00-19:00", "on_delivery")
        order = place_order(uow, app.settings, buyer, choice)
        order.delivery_company = get_organisation(uow, company)
        set_order_delivery(order, address)
        uow.commit()
        return order.number


def _world(app: App) -> tuple[str, str]:
    _shop(app)
    with app.db.uow() as uow:
        add_organisation(uow, "velo", "Vélo Livraisons", OrganisationKind.DELIVERY)
        add_organisation(uow, "autre", "Autre Vélo", OrganisationKind.DELIVERY)
        uow.commit()
    return _delivered_order(app, "velo", ADA), _delivered_order(app, "autre", OTHER)


def _owner_only(path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


LITERAL = rb"\((?:\\.|[^\\)])*\)"


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        escaped = match[1]
        if escaped[:1].isdigit():
            return bytes([int(escaped, 8)])
        return {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(escaped, escaped)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal[1:-1], flags=re.S)


def pdf_text(pdf: bytes) -> str:
    """The text a PDF drawn by cairo shows, line by line: its (deflated) content streams' Tj/TJ strings, in the
    single-byte encoding cairo picks for Latin text."""
    shown_lines = []
    for stream in re.finditer(rb"<<(.*?)>>\s*stream\r?\n(.*?)endstream", pdf, re.S):
        content = zlib.decompress(stream[2]) if b"/FlateDecode" in stream[1] else stream[2]
        shows = rb"(" + LITERAL + rb")\s*Tj|\[((?:" + LITERAL + rb"|[^\]])*)\]\s*TJ"
        for shown in re.finditer(shows, content, re.S):
            parts = [shown[1]] if shown[1] else re.findall(LITERAL, shown[2])
            shown_lines.append(b"".join(_unescape(p) for p in parts).decode("cp1252"))
    return "\n".join(shown_lines)


def test_order_show_gives_an_admin_the_whole_delivery_address(cli: Run, app: App) -> None:
    number, _ = _world(app)
    code, out = cli("order", "show", number)
    assert code == 0
    shown = {row[0]: row[1] for row in rows(out) if len(row) == 2}
    assert {key: shown[key] for key in ("recipient", "street", "details", "postal code", "phone", "coordinates")} == {
        "recipient": "Ada Lovelace",
        "street": "Rue de Carouge 50",
        "details": "<b>code</b> 4521 & sonnez",
        "postal code": "1205 Genève",
        "phone": "+41795550123",
        "coordinates": "46.1983714, 6.1426721",
    }
    assert shown["map"] == "https://www.openstreetmap.org/?mlat=46.1983714&mlon=6.1426721#map=18/46.1983714/6.1426721"


def test_the_html_run_sheet_holds_the_companys_drops_only_escaped_and_owner_only(
    cli: Run, app: App, tmp_path: Path
) -> None:
    number, theirs = _world(app)
    sheet = tmp_path / "out" / "run.html"
    code, out = cli("delivery", "run", "velo", "--date", DAY, "--format", "html", "--output", str(sheet))
    assert (code, words(out)) == (0, f"Run sheet written to {sheet} (readable by its owner only).")
    _owner_only(sheet)
    page = sheet.read_text(encoding="utf-8")
    assert "<h1>Run of Vélo Livraisons — 2026-11-25</h1>" in page
    assert f"2. Drop {number} — 17:00-19:00" in page  # after the pick-up at Ferme Test
    assert "<div>Ada Lovelace</div>" in page and "<div>&lt;b&gt;code&lt;/b&gt; 4521 &amp; sonnez</div>" in page
    assert '<a href="tel:+41795550123">Phone +41795550123</a>' in page
    osm = "https://www.openstreetmap.org/?mlat=46.1983714&amp;mlon=6.1426721#map=18/46.1983714/6.1426721"
    assert f'<a href="{osm}">Rue de Carouge 50, 1205 Genève</a>' in page
    assert "To collect: CHF" in page and "<b>code</b>" not in page
    assert theirs not in page and not [word for word in OTHER_DATA if word in page]


def test_the_pdf_run_sheet_is_a_pdf_of_the_companys_drops_only(cli: Run, app: App) -> None:
    number, theirs = _world(app)
    code, out = cli("delivery", "run", "velo", "--day", DAY, "--format", "pdf")  # --day: the older spelling
    sheet = app.settings.data_dir / "run-sheets" / f"velo-{DAY}.pdf"
    assert (code, words(out)) == (0, f"Run sheet written to {sheet} (readable by its owner only).")
    _owner_only(sheet)
    assert stat.S_IMODE(sheet.parent.stat().st_mode) == 0o700
    data = sheet.read_bytes()
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert f"2. Drop {number} — 17:00-19:00" in text.splitlines()
    assert "Rue de Carouge 50, 1205 Genève" in text and "Phone +41795550123" in text
    assert "<b>code</b> 4521 & sonnez" in text
    assert theirs not in text and not [word for word in OTHER_DATA if word in text]
    # The other company's own sheet has its drop, and none of this one's.
    cli("delivery", "run", "autre", "--date", DAY, "--format", "pdf")
    other = pdf_text((app.settings.data_dir / "run-sheets" / f"autre-{DAY}.pdf").read_bytes())
    assert "Chemin des Secrets 7, 1206 Genève" in other and number not in other and "Carouge" not in other


def test_the_text_run_sheet_and_a_bad_date(cli: Run, app: App, tmp_path: Path) -> None:
    number, theirs = _world(app)
    code, out = cli("delivery", "run", "velo", "--date", DAY)
    assert code == 0 and "Rue de Carouge 50" in out and number in out and theirs not in out
    sheet = tmp_path / "run.txt"
    assert cli("delivery", "run", "velo", "--date", DAY, "--output", str(sheet))[0] == 0
    _owner_only(sheet)
    assert "Ada Lovelace" in sheet.read_text() and "Secrets" not in sheet.read_text()
    code, out = cli("delivery", "run", "velo", "--date", "25.11.2026")
    assert code == 2 and "'25.11.2026' is not a date like 2026-11-25." in words(out)
