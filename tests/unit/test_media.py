"""What a photo or document reference may be (marketplace.media): https URLs on public hosts, files inside the
media and payments folders; and the files only their owner reads."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from marketplace.i18n import error_message
from marketplace.media import (
    MediaPolicy,
    MediaRefused,
    NonPublicAddress,
    PublicResolver,
    check_photo,
    check_url,
    create_private_file,
    is_public_address,
    open_private,
    private_folder,
    write_private,
)

# The references of the security review, and their cousins: every one must be refused.
HOSTILE_URLS = [
    "file:///etc/passwd",
    "http://127.0.0.1:5005/conversations/telegram:1/tracker",
    "https://127.0.0.1/x.jpg",
    "https://[::1]/",
    "https://169.254.169.254/latest/meta-data/",
    "https://localhost/x.jpg",
    "https://localhost./x.jpg",
    "https://shop.localhost/x.jpg",
    "http://example.org/x.jpg",
    "https://10.0.0.5/x.jpg",
    "https://192.168.1.1/x.jpg",
    "https://172.16.0.1/x.jpg",
    "https://100.64.0.1/x.jpg",  # shared address space (carrier-grade NAT)
    "https://0.0.0.0/x.jpg",
    "https://224.0.0.1/x.jpg",
    "https://[fc00::1]/x.jpg",
    "https://[fe80::1]/x.jpg",
    "https://[::ffff:127.0.0.1]/x.jpg",
    "https://[64:ff9b::a00:1]/x.jpg",  # NAT64 form of 10.0.0.1
    "https://2130706433/x.jpg",  # 127.0.0.1 as one number
    "https://0x7f.0x1/x.jpg",
    "https://127.1/x.jpg",
    "https://metadata.google.internal/x.jpg",
    "https://printer.local/x.jpg",
    "https://user:secret@photos.example.com/x.jpg",
    "https://photos.example.com@127.0.0.1/x.jpg",
    "https://photos.example.com\\@127.0.0.1/x.jpg",
    "https://photos.example.com/x.jpg\r\nHost: 127.0.0.1",
    "https://photos.example.com:99999/x.jpg",
    "ftp://photos.example.com/x.jpg",
    "data:image/png;base64,iVBORw0KGgo=",
    "javascript:alert(1)",
    "https:///x.jpg",
]
HOSTILE_FILES = ["/proc/self/environ", "../../etc/passwd", "photos/../../../etc/passwd", "/etc/passwd", "~/.bashrc"]
GOOD_URLS = [
    "https://photos.example.com/miel.jpg",
    "https://cdn.ge-consomme-local.ch:8443/produits/miel-foret.jpg?v=2",
    "https://93.184.216.34/miel.jpg",
    "https://[2606:2800:220:1:248:1893:25c8:1946]/miel.jpg",
    "https://bücherei.example.com/miel.jpg",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_urls_that_are_not_https_on_a_public_host_are_refused(url: str) -> None:
    with pytest.raises(MediaRefused):
        check_url(url)
    with pytest.raises(MediaRefused):
        check_photo(url)
    with pytest.raises(MediaRefused):
        MediaPolicy().remote_url(url)


@pytest.mark.parametrize("url", GOOD_URLS)
def test_https_urls_on_public_hosts_pass(url: str) -> None:
    assert check_url(url) == url == check_photo(f"  {url} ")
    assert MediaPolicy().remote_url(url) == url


@pytest.mark.parametrize("reference", HOSTILE_FILES)
def test_a_catalog_photo_file_is_a_name_inside_the_media_folder(reference: str, tmp_path: Path) -> None:
    with pytest.raises(MediaRefused):
        check_photo(reference)
    with pytest.raises(MediaRefused):
        check_photo(reference, tmp_path)


def test_a_file_name_is_checked_in_the_media_folder_when_it_is_known(tmp_path: Path) -> None:
    media = tmp_path / "media"
    (media / "fruits").mkdir(parents=True)
    (media / "fruits" / "pommes.jpg").write_bytes(b"jpeg")
    (media / "outside.jpg").symlink_to("/etc/passwd")
    (media / "alias.jpg").symlink_to(media / "fruits" / "pommes.jpg")
    assert check_photo("fruits/pommes.jpg", media) == "fruits/pommes.jpg" == check_photo("fruits/pommes.jpg")
    assert check_photo("alias.jpg", media) == "alias.jpg", "a symlink that stays inside the folder is fine"
    assert check_photo("outside.jpg") == "outside.jpg", "without the folder, only the form is checked"
    for refused in ("outside.jpg", "missing.jpg", "fruits", "fruits/../fruits/pommes.jpg"):
        with pytest.raises(MediaRefused):
            check_photo(refused, media)


@pytest.fixture
def folders(tmp_path: Path) -> Iterator[MediaPolicy]:
    media, payments = tmp_path / "data" / "media", tmp_path / "data" / "payments"
    media.mkdir(parents=True)
    payments.mkdir()
    (media / "miel.jpg").write_bytes(b"honey")
    (payments / "GE-7K3Q9M-1-qr-bill.pdf").write_bytes(b"%PDF")
    (media / "environ.jpg").symlink_to("/proc/self/environ")
    (tmp_path / "secret.txt").write_bytes(b"token")
    (media / "up.jpg").symlink_to(tmp_path / "secret.txt")
    os.mkfifo(media / "pipe.jpg")
    yield MediaPolicy(media_dir=media, payments_dir=payments, max_bytes=10)


def test_the_bots_read_only_regular_files_inside_the_media_and_payments_folders(folders: MediaPolicy) -> None:
    assert folders.media_dir and folders.payments_dir
    assert folders.read_local("miel.jpg") == b"honey"
    assert folders.read_local(str(folders.media_dir / "miel.jpg")) == b"honey"
    assert folders.read_local(str(folders.payments_dir / "GE-7K3Q9M-1-qr-bill.pdf")) == b"%PDF"
    refused = [
        "/proc/self/environ", "../../etc/passwd", "../secret.txt", "environ.jpg", "up.jpg", "pipe.jpg",
        str(folders.media_dir / ".." / "secret.txt"), str(folders.media_dir.parent / "secret.txt"), "missing.jpg",
        str(folders.media_dir), "",
    ]  # fmt: skip
    for reference in refused:
        with pytest.raises(MediaRefused):
            folders.read_local(reference)
    (folders.media_dir / "big.jpg").write_bytes(b"x" * 11)
    with pytest.raises(MediaRefused, match="too large"):
        folders.read_local("big.jpg")


def test_without_folders_no_local_file_is_read(folders: MediaPolicy) -> None:
    assert folders.media_dir is not None
    with pytest.raises(MediaRefused):
        MediaPolicy().read_local(str(folders.media_dir / "miel.jpg"))
    with pytest.raises(MediaRefused):
        MediaPolicy().read_local("miel.jpg")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True), ("127.0.0.1", False),
        ("10.1.2.3", False), ("169.254.169.254", False), ("100.64.0.1", False), ("192.0.2.1", False),
        ("224.0.0.251", False), ("239.255.255.250", False), ("240.0.0.1", False), ("255.255.255.255", False),
        ("::1", False), ("::", False), ("fd00::1", False), ("fe80::1", False), ("fec0::1", False),
        ("ff02::1", False), ("::ffff:10.0.0.1", False), ("2002:7f00:1::", False), ("64:ff9b::7f00:1", False),
    ],
)  # fmt: skip
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


class FakeDNS:
    """What aiohttp's resolver answers, from a table: a name that changed its mind since the import."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[dict[str, object]]:  # noqa: ARG002
        return [
            {"hostname": host, "host": ip, "port": port, "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
             "proto": 0, "flags": socket.AI_NUMERICHOST}
            for ip in self.table[host]
        ]  # fmt: skip

    async def close(self) -> None:
        pass


def test_a_name_is_refused_when_any_of_its_addresses_is_not_public() -> None:
    resolver = PublicResolver(
        FakeDNS({
            "photos.example.com": ["93.184.216.34"],
            "rebound.example.com": ["127.0.0.1"],
            "mixed.example.com": ["93.184.216.34", "10.0.0.1"],
            "v6.example.com": ["2606:2800:220:1:248:1893:25c8:1946", "fe80::1%eth0"],
        })
    )  # fmt: skip

    async def resolve(name: str) -> list[str]:
        return [str(r["host"]) for r in await resolver.resolve(name, 443, socket.AF_UNSPEC)]

    assert asyncio.run(resolve("photos.example.com")) == ["93.184.216.34"]
    for name in ("rebound.example.com", "mixed.example.com", "v6.example.com"):
        with pytest.raises(NonPublicAddress):
            asyncio.run(resolve(name))


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fr", "« /proc/self/environ » n'est pas accepté comme photo : indiquez une adresse https d'un site public"),
        ("de", "«/proc/self/environ» wird als Foto nicht angenommen: Geben Sie eine https-Adresse"),
        ("it", "«/proc/self/environ» non è accettato come foto: indichi un indirizzo https di un sito pubblico"),
        ("en", "“/proc/self/environ” is not accepted as a photo: give an https address on a public site"),
    ],
)
def test_a_refused_photo_is_explained_in_the_admins_language(lang: str, expected: str) -> None:
    with pytest.raises(MediaRefused) as refused:
        check_photo("/proc/self/environ")
    assert error_message(refused.value, lang).startswith(expected)


# --- files only their owner reads ------------------------------------------------------------------


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The most permissive umask: the modes below must not depend on the process's."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("lax_umask")
def test_private_files_and_folders_are_the_owners_only(tmp_path: Path) -> None:
    folder = private_folder(tmp_path / "data" / "payments")
    assert (mode(tmp_path / "data"), mode(folder)) == (0o700, 0o700)
    written = write_private(folder / "GE-1-qr-bill.pdf", b"%PDF")
    assert (written.read_bytes(), mode(written)) == (b"%PDF", 0o600)
    with open_private(tmp_path / "logs" / "rasa.log", "ab") as log:
        log.write(b"first\n")
    with open_private(tmp_path / "logs" / "rasa.log", "ab") as log:
        log.write(b"second\n")
    assert (tmp_path / "logs" / "rasa.log").read_bytes() == b"first\nsecond\n"
    assert (mode(tmp_path / "logs"), mode(tmp_path / "logs" / "rasa.log")) == (0o700, 0o600)
    create_private_file(tmp_path / "db" / "marketplace.sqlite3")
    assert (mode(tmp_path / "db"), mode(tmp_path / "db" / "marketplace.sqlite3")) == (0o700, 0o600)


@pytest.mark.usefixtures("lax_umask")
def test_an_existing_private_folder_or_file_is_tightened_and_a_symlink_in_its_place_refused(tmp_path: Path) -> None:
    before = mode(tmp_path)
    folder = tmp_path / "payments"
    folder.mkdir(mode=0o777)
    (folder / "old.png").write_bytes(b"png")
    os.chmod(folder / "old.png", 0o644)
    private_folder(folder)
    write_private(folder / "old.png", b"new")
    assert (mode(folder), mode(folder / "old.png")) == (0o700, 0o600)
    (folder / "trap.png").symlink_to(tmp_path / "elsewhere.png")
    with pytest.raises(OSError):
        write_private(folder / "trap.png", b"png")
    assert not (tmp_path / "elsewhere.png").exists()
    assert mode(tmp_path) == before, "a parent that already existed is left as it was"
