"""Hostile photo references (issue 11, § 4): refused where they enter the catalog (CSV import, the admin's
`product update --photo`, drafts), and again where the bots would read, fetch or send them (a row already in
the database is not trusted). Good references still work. Private files are created 0600 in 0700 folders."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import os
import ssl
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select, update
from typer.testing import CliRunner

import admin_cli
from admin.context import console, errors
from bootstrap import App, build_app
from bot.rasa_client import BotMessage
from bot.telegram_bot import TelegramChannel
from catalog.csv_io import COLUMNS, draft_of, import_products
from catalog.models import Product
from catalog.services import ProductDraft, find_product, upsert_product, validate_draft
from checkout.payment import PaymentMethod
from checkout.services import DeliveryChoice, add_to_basket
from marketplace.db import Database, UnitOfWork
from marketplace.media import Fetched, MediaPolicy, MediaRefused, PublicResolver, fetch_public
from tests.conftest import make_product, person
from tests.integration.test_matrix_channel import ROOM, FakeNioClient, channel
from tests.support.telegram_api import FakeTelegramAPI
from tests.support.test_telegram_api_fake import png
from tests.unit.test_media import FakeDNS

# The references of the security review: refused at import and at send time, on both bots.
HOSTILE = [
    "/proc/self/environ",
    "file:///etc/passwd",
    "../../etc/passwd",
    "http://127.0.0.1:5005/conversations/telegram:1001/tracker",
    "https://127.0.0.1/x.jpg",
    "https://[::1]/",
    "https://169.254.169.254/latest/meta-data/",
    "https://localhost/x.jpg",
    "http://example.org/x.jpg",
]
GOOD_URL = "https://photos.example.com/miel.jpg"
TEXT = "Miel de forêt — 18,50 CHF"


@pytest.fixture
def media(tmp_path: Path) -> MediaPolicy:
    """The deployment's media folder (a photo, and a symlink planted there that leads out) and payments folder."""
    media_dir, payments_dir = tmp_path / "media", tmp_path / "payments"
    media_dir.mkdir()
    payments_dir.mkdir()
    (media_dir / "miel.png").write_bytes(png(40, 30))
    (media_dir / "evil.png").symlink_to("/proc/self/environ")
    (payments_dir / "GE-7K3Q9M-1-qr-bill.pdf").write_bytes(b"%PDF-1.7 qr-bill")
    return MediaPolicy(media_dir=media_dir, payments_dir=payments_dir)


def hostile_and_planted(media: MediaPolicy) -> list[str]:
    """Every hostile reference, with the symlink named both ways a row or a reply could name it."""
    assert media.media_dir is not None
    return [*HOSTILE, "evil.png", str(media.media_dir / "evil.png")]


# --- where references enter the catalog -------------------------------------------------------------


def catalog_csv(*photos: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, "photo_url"])
    for n, photo in enumerate(photos):
        writer.writerow(["ferme-test", f"MIEL-{n}", "Miel", "", "", "", "honey", "500 g", "18.50", "reduced", "5",
                         "", "", photo])  # fmt: skip
    return out.getvalue()


def photos(app: App) -> dict[str, str]:
    with app.db.uow() as uow:
        return {sku: url for sku, url in uow.session.execute(select(Product.sku, Product.photo_url))}


@pytest.mark.usefixtures("shop")
def test_a_csv_import_reports_every_hostile_photo_and_imports_nothing(app: App, media: MediaPolicy) -> None:
    before = photos(app)
    with app.db.uow() as uow:  # by their form alone, wherever the import comes from
        report = import_products(uow, catalog_csv(*HOSTILE))
        uow.commit()
    assert report.created == 0 and photos(app) == before
    assert sorted(e.line for e in report.errors) == list(range(2, len(HOSTILE) + 2)), report.errors
    assert all("photo_url" in e.message and "refused" in e.message for e in report.errors)
    refs = hostile_and_planted(media)  # the symlink's name is fine by its form: it is looked up in the folder
    with app.db.uow() as uow:
        report = import_products(uow, catalog_csv(*refs), media_dir=media.media_dir)
        uow.commit()
    assert report.created == 0 and photos(app) == before
    assert sorted(e.line for e in report.errors) == list(range(2, len(refs) + 2)), report.errors


@pytest.mark.usefixtures("shop")
def test_a_csv_import_takes_an_https_url_and_a_file_of_the_media_folder(app: App, media: MediaPolicy) -> None:
    with app.db.uow() as uow:
        report = import_products(uow, catalog_csv(f" {GOOD_URL} ", "miel.png", ""), media_dir=media.media_dir)
        uow.commit()
    assert report.ok and report.created == 3, report.errors
    assert {sku: url for sku, url in photos(app).items() if sku.startswith("MIEL")} == {
        "MIEL-0": GOOD_URL, "MIEL-1": "miel.png", "MIEL-2": "",
    }  # fmt: skip


@pytest.mark.usefixtures("shop")
def test_a_draft_with_a_hostile_photo_is_refused(app: App, media: MediaPolicy) -> None:
    def draft(uow: UnitOfWork, reference: str) -> ProductDraft:
        return dataclasses.replace(draft_of(find_product(uow, "ferme-test", "TOM")), photo_url=reference)

    for reference in HOSTILE:
        with app.db.uow() as uow:
            assert validate_draft(draft(uow, reference)), reference
            with pytest.raises(MediaRefused):
                upsert_product(uow, draft(uow, reference))
    for reference in hostile_and_planted(media):
        with app.db.uow() as uow, pytest.raises(MediaRefused):
            upsert_product(uow, draft(uow, reference), media_dir=media.media_dir)
    assert photos(app)["TOM"] == ""


Run = Any


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Run, Path]]:
    """The admin command line on a throw-away database and data directory, with one vendor and product."""
    data = tmp_path / "data"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("SMARTKET_DATA_DIR", str(data))
    monkeypatch.delenv("SMARTKET_CONFIG", raising=False)
    monkeypatch.setattr(console, "width", 200)
    monkeypatch.setattr(errors, "width", 200)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(admin_cli.cli, ["--lang", "en", *args])
        return result.exit_code, result.output

    assert run("db", "upgrade")[0] == 0
    app = build_app()
    from marketplace.accounts import OrganisationKind, add_organisation

    with app.db.uow() as uow:
        add_organisation(uow, "ferme-test", "Ferme Test", OrganisationKind.PRODUCER)
        make_product(uow, "ferme-test", "TOM", "Tomates", "4.80")
        uow.commit()
    app.close()
    (data / "media").mkdir(parents=True)
    (data / "media" / "tomates.jpg").write_bytes(b"jpeg")
    (data / "media" / "evil.jpg").symlink_to("/proc/self/environ")
    yield run, data


def cli_photo() -> str:
    app = build_app()
    try:
        with app.db.uow() as uow:
            return find_product(uow, "ferme-test", "TOM").photo_url
    finally:
        app.close()


def test_the_admin_cannot_set_a_hostile_photo(cli: tuple[Run, Path]) -> None:
    run, data = cli
    for reference in [*HOSTILE, "evil.jpg", str(data / "media" / "evil.jpg")]:
        code, out = run("product", "update", "ferme-test/TOM", "--photo", reference)
        assert code == 1 and "is not accepted as a photo" in out, (reference, out)
        assert cli_photo() == ""
    code, out = run("product", "update", "ferme-test/TOM", "--photo", "tomates.jpg")
    assert code == 0 and "Photo: tomates.jpg" in out, out
    code, out = run("product", "update", "ferme-test/TOM", "--photo", GOOD_URL)
    assert code == 0 and f"Photo: {GOOD_URL}" in out and cli_photo() == GOOD_URL, out


def test_the_admins_csv_import_checks_photos_in_the_deployments_media_folder(
    cli: tuple[Run, Path], tmp_path: Path
) -> None:
    run, _ = cli
    file = tmp_path / "catalog.csv"
    file.write_text(catalog_csv("tomates.jpg", "evil.jpg", "/proc/self/environ"), encoding="utf-8")
    code, out = run("product", "import", str(file))
    assert code == 1 and "photo_url 'evil.jpg' refused" in out and "photo_url '/proc/self/environ' refused" in out
    assert "photo_url 'tomates.jpg'" not in out, out


# --- where the bots send them ----------------------------------------------------------------------

USER = 42


def plant(app: App, reference: str) -> str:
    """A row already in the database with `reference` as its photo (written past every check): what the
    product-details answer hands the bot."""
    with app.db.uow() as uow:
        uow.session.execute(update(Product).where(Product.sku == "TOM").values(photo_url=reference))
        uow.commit()
        return uow.session.scalar(select(Product.photo_url).where(Product.sku == "TOM")) or ""


@pytest.fixture
def telegram() -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI() as fake:
        fake.flood_limits = False
        fake.user_sends(USER, "/start")  # a bot may only write to people who wrote first
        yield fake
        assert fake.internal_errors == []


def telegram_sends(fake: FakeTelegramAPI, media: MediaPolicy, replies: list[BotMessage]) -> list[Any]:
    """What the person sees after the channel sends `replies` (only the new messages)."""
    bot = TelegramChannel(fake.token, router=None, base_url=fake.base_url, base_file_url=fake.base_file_url)  # type: ignore[arg-type]
    bot.media = media
    seen = len(fake.messages_to(USER))

    async def scenario() -> None:
        await bot.app.initialize()
        try:
            await bot.send(USER, replies)
        finally:
            await bot.app.shutdown()

    asyncio.run(scenario())
    return fake.messages_to(USER)[seen:]


@pytest.mark.usefixtures("shop")
def test_telegram_sends_no_hostile_photo_or_document_but_still_the_text(
    app: App, telegram: FakeTelegramAPI, media: MediaPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    for reference in hostile_and_planted(media):
        image = plant(app, reference)
        sent = telegram_sends(telegram, media, [BotMessage(TEXT, image=image), BotMessage("QR", document=image)])
        assert [(m.kind, m.text) for m in sent] == [("text", TEXT), ("text", "QR")], reference
    asked = {name.lower() for name, _ in telegram.requests}
    assert not asked & {"sendphoto", "senddocument"}, asked
    assert_warned_without_the_reference(caplog, 2 * len(hostile_and_planted(media)))


def assert_warned_without_the_reference(caplog: pytest.LogCaptureFixture, count: int) -> None:
    """One warning per refused file, saying why, naming neither the reference nor the person."""
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "not sent" in r.getMessage()]
    assert len(warnings) == count, warnings
    leaks = ("environ", "passwd", "127.0.0.1", "169.254", "localhost", "example.org", "evil", "telegram:", ROOM)
    assert not [w for w in warnings if any(leak in w for leak in leaks)], warnings


@pytest.mark.usefixtures("shop")
def test_telegram_sends_an_https_photo_a_media_photo_and_a_payment_document(
    app: App, telegram: FakeTelegramAPI, media: MediaPolicy
) -> None:
    assert media.media_dir is not None and media.payments_dir is not None
    qr_bill = str(media.payments_dir / "GE-7K3Q9M-1-qr-bill.pdf")
    sent = telegram_sends(
        telegram,
        media,
        [BotMessage(TEXT, image=plant(app, GOOD_URL)), BotMessage(TEXT, image=plant(app, "miel.png")),
         BotMessage("QR-facture", document=qr_bill)],
    )  # fmt: skip
    assert [(m.kind, m.text) for m in sent] == [("photo", TEXT), ("photo", TEXT), ("document", "QR-facture")]
    assert sent[0].file == GOOD_URL, "Telegram fetches an https URL itself"
    assert sent[1].file == (media.media_dir / "miel.png").read_bytes()
    assert sent[2].file == b"%PDF-1.7 qr-bill"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every HTTP request aiohttp is asked to make, refused: the bot must not even try a hostile URL."""
    asked: list[str] = []

    async def refuse(_session: aiohttp.ClientSession, _method: str, url: Any, **_kwargs: Any) -> None:
        asked.append(str(url))
        raise aiohttp.ClientConnectionError("no network in this test")

    monkeypatch.setattr(aiohttp.ClientSession, "_request", refuse)
    return asked


@pytest.mark.usefixtures("shop")
def test_matrix_fetches_uploads_and_sends_no_hostile_reference_but_still_the_text(
    app: App, media: MediaPolicy, no_network: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    matrix = channel(app)
    matrix.media = media
    client: FakeNioClient = matrix.client  # type: ignore[assignment]
    for n, reference in enumerate(hostile_and_planted(media)):
        image = plant(app, reference)
        replies = [BotMessage(TEXT, image=image), BotMessage("QR", document=image)]
        asyncio.run(matrix.send(ROOM, replies, answering=f"$e{n}"))
    assert no_network == [] and client.uploads == []
    assert {content["msgtype"] for _, content, _ in client.sent} == {"m.text"}
    assert len(client.sent) == 2 * len(hostile_and_planted(media))
    assert_warned_without_the_reference(caplog, 2 * len(hostile_and_planted(media)))


@pytest.mark.usefixtures("shop")
def test_matrix_uploads_an_https_photo_a_media_photo_and_a_payment_document(
    app: App, media: MediaPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert media.media_dir is not None and media.payments_dir is not None
    fetched: list[tuple[str, bool]] = []

    async def fetch(url: str, policy: MediaPolicy, *, image: bool) -> Fetched:
        fetched.append((url, image))
        assert policy is media
        return Fetched(b"jpeg bytes", "image/jpeg", url)

    monkeypatch.setattr("bot.matrix_bot.fetch_public", fetch)  # fetch_public itself: see the tests below
    matrix = channel(app)
    matrix.media = media
    qr_bill = str(media.payments_dir / "GE-7K3Q9M-1-qr-bill.pdf")
    replies = [BotMessage(TEXT, image=plant(app, GOOD_URL)), BotMessage(TEXT, image=plant(app, "miel.png")),
               BotMessage("QR-facture", document=qr_bill)]  # fmt: skip
    asyncio.run(matrix.send(ROOM, replies, answering="$good"))
    client: FakeNioClient = matrix.client  # type: ignore[assignment]
    assert fetched == [(GOOD_URL, True)]
    assert client.uploads == [
        (b"jpeg bytes", "image/jpeg", "miel.jpg"),
        ((media.media_dir / "miel.png").read_bytes(), "image/png", "miel.png"),
        (b"%PDF-1.7 qr-bill", "application/pdf", "GE-7K3Q9M-1-qr-bill.pdf"),
    ]


# --- fetching an https URL: a local TLS server stands in for a public photo host -----------------------

HOST = "photos.smartket-test.ch"
REBOUND = "rebound.smartket-test.ch"


def certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST), x509.DNSName(REBOUND)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class PhotoHost:
    """An https server with a photo, a page, a large file and redirects; records the paths asked."""

    def __init__(self, folder: Path) -> None:
        self.cert, self.key = certificate(folder)
        self.asked: list[str] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.asked.append(request.path)
        here = f"https://{HOST}:{self.port}"
        redirects = {
            "/moved": f"{here}/miel.jpg",
            "/relative": "/miel.jpg",
            "/to-loopback": f"https://127.0.0.1:{self.port}/miel.jpg",
            "/to-http": f"http://{HOST}:{self.port}/miel.jpg",
            "/to-rebound": f"https://{REBOUND}:{self.port}/miel.jpg",
            "/loop": f"{here}/loop",
        }
        if request.path in redirects:
            raise web.HTTPFound(redirects[request.path])
        if request.path == "/streamed-big.jpg":  # no Content-Length: the limit holds while reading
            response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for _ in range(20):
                await response.write(b"x" * 100)
            await response.write_eof()
            return response
        files = {
            "/miel.jpg": web.Response(body=b"\xff\xd8jpeg", content_type="image/jpeg"),
            "/page.html": web.Response(text="<html></html>", content_type="text/html"),
            "/logo.svg": web.Response(text="<svg/>", content_type="image/svg+xml"),
            "/declared-big.jpg": web.Response(body=b"x" * 2000, content_type="image/jpeg"),
        }
        return files.get(request.path, web.Response(status=404))

    async def __aenter__(self) -> PhotoHost:
        server = web.Server(self.handle)
        self._runner = web.ServerRunner(server)
        await self._runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def fetch_from(tmp_path: Path, path: str, *, rebound_to: str = "10.0.0.7", image: bool = True,
               host_is_public: bool = True) -> tuple[Fetched | MediaRefused, list[str]]:  # fmt: skip
    """Fetch `path` from the test host, whose name resolves to 127.0.0.1; `host_is_public` lets that one
    address stand for a public one (as a real photo host's would be), and nothing else."""
    dns = FakeDNS({HOST: ["127.0.0.1"], REBOUND: [rebound_to]})
    test_host = IPv4Address("127.0.0.1")

    async def scenario() -> tuple[Fetched | MediaRefused, list[str]]:
        async with PhotoHost(tmp_path) as host:
            allowed = lambda ip: host_is_public and ip == test_host  # noqa: E731
            context = ssl.create_default_context(cafile=str(host.cert))
            policy = MediaPolicy(max_bytes=1000, timeout=5)
            try:
                result: Fetched | MediaRefused = await fetch_public(
                    f"https://{HOST}:{host.port}{path}", policy, image=image,
                    resolver=PublicResolver(dns, allowed=allowed), ssl=context,
                )  # fmt: skip
            except MediaRefused as refused:
                result = refused
            return result, host.asked

    return asyncio.run(scenario())


def test_a_public_https_photo_is_fetched_following_checked_redirects(tmp_path: Path) -> None:
    for path in ("/miel.jpg", "/moved", "/relative"):
        fetched, asked = fetch_from(tmp_path, path)
        assert isinstance(fetched, Fetched), fetched
        assert (fetched.data, fetched.content_type, asked[-1]) == (b"\xff\xd8jpeg", "image/jpeg", "/miel.jpg")
    page, _ = fetch_from(tmp_path, "/page.html", image=False)
    assert isinstance(page, Fetched) and page.content_type == "text/html", "a document may be of any type"


@pytest.mark.parametrize(
    ("path", "reason", "asked"),
    [
        ("/to-loopback", "not a public address", ["/to-loopback"]),
        ("/to-http", "only https", ["/to-http"]),
        ("/to-rebound", "resolves to an address that is not public", ["/to-rebound"]),
        ("/loop", "too many redirects", ["/loop"] * 4),
        ("/page.html", "not an image", ["/page.html"]),
        ("/logo.svg", "not an image", ["/logo.svg"]),
        ("/declared-big.jpg", "too large", ["/declared-big.jpg"]),
        ("/streamed-big.jpg", "too large", ["/streamed-big.jpg"]),
        ("/missing.jpg", "answered 404", ["/missing.jpg"]),
    ],
)
def test_a_fetch_refuses_private_redirects_other_types_and_large_files(
    tmp_path: Path, path: str, reason: str, asked: list[str]
) -> None:
    refused, requests = fetch_from(tmp_path, path)
    assert isinstance(refused, MediaRefused) and reason in refused.reason, refused
    assert requests == asked, "a refused redirect is never followed"


def test_a_name_that_now_resolves_to_a_private_address_is_not_fetched(tmp_path: Path) -> None:
    """DNS rebinding: the name passed the import, but at fetch time it resolves to this machine."""
    refused, asked = fetch_from(tmp_path, "/miel.jpg", host_is_public=False)
    assert isinstance(refused, MediaRefused) and "not public" in refused.reason
    assert asked == [], "no connection is made"


# --- files only their owner reads ------------------------------------------------------------------


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common umask, under which files were 0644 and folders 0755 before."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("usual_umask")
def test_a_new_sqlite_database_is_the_owners_only(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'var' / 'geneva' / 'marketplace.sqlite3'}")
    try:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        files = sorted((tmp_path / "var" / "geneva").iterdir())
        assert [f.name for f in files][:2] == ["marketplace.sqlite3", "marketplace.sqlite3-shm"]
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}, "the WAL files too"
        assert (mode(tmp_path / "var"), mode(tmp_path / "var" / "geneva")) == (0o700, 0o700)
    finally:
        db.dispose()


@pytest.mark.usefixtures("usual_umask")
def test_qr_bills_and_leman_codes_are_the_owners_only(app: App, shop: dict[str, int], tmp_path: Path) -> None:
    from checkout.services import place_order
    from payments.documents import write_payment_documents
    from payments.services import open_payment
    from tests.integration.test_checkout_flow import EVENING, NOW

    settings = dataclasses.replace(app.settings, data_dir=tmp_path)
    with app.db.uow() as uow:
        buyer = person(uow, shop["consumer"])
        add_to_basket(uow, buyer, shop["tomato"], Decimal(2))
        order = place_order(uow, settings, buyer, DeliveryChoice("pickup", "", EVENING, PaymentMethod.MIXED), NOW)
        documents = write_payment_documents(settings, order, open_payment(uow, settings, order), "fr")
        uow.commit()
    files = [f for d in documents for f in (d.image, d.pdf) if f is not None]
    assert len(files) == 3 and {f.parent for f in files} == {tmp_path / "payments"}  # bill png + pdf, Léman png
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert mode(tmp_path / "payments") == 0o700


@pytest.mark.usefixtures("usual_umask")
def test_runtime_and_set_up_logs_are_the_owners_only(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dialogues.runtime import Servers, logs_dir

    servers = Servers(app.settings, log_dir=tmp_path / "data" / "logs")
    servers._spawn([sys.executable, "-c", "print('started')"], dict(os.environ), "actions.log", cwd=tmp_path)
    for process in servers.processes:
        process.wait(timeout=30)
    log = tmp_path / "data" / "logs" / "actions.log"
    assert log.read_text().strip() == "started"
    assert (mode(log), mode(log.parent)) == (0o600, 0o700)
    monkeypatch.setenv("SMARTKET_CACHE", str(tmp_path / "cache"))
    assert mode(logs_dir()) == 0o700


def test_the_bot_process_lets_its_channels_read_the_deployments_media_and_payments_folders(app: App) -> None:
    from bot.__main__ import build_process
    from marketplace.secrets import CHANNEL

    env = {"TELEGRAM_BOT_TOKEN": "123:ABC", "MATRIX_HOMESERVER": "https://matrix.example.org",
           "MATRIX_USER_ID": "@marche:example.org", "MATRIX_ACCESS_TOKEN": "t", CHANNEL.env: "s" * 64,
           "SMARTKET_MATRIX_STORE_KEY": "m" * 43}  # fmt: skip
    process = build_process(app, env)
    data = app.settings.data_dir
    expected = MediaPolicy(data / "media", data / "payments", data / "exports")
    assert [channel.media for channel in process.channels] == [expected, expected]
