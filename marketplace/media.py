"""Which photos and documents the marketplace reads, fetches and sends, and the files only their owner reads.

A photo or document reference is either
- an `https://` URL whose host is a public name or address: never loopback, private, link-local,
  unique-local, multicast or reserved, nor `localhost` and the other special-use names. When the bot fetches
  it (Matrix), every address the name resolves to is checked again at connection time, and so is every
  redirect: DNS may say something else then than when the URL was imported; or
- a file in the deployment's media folder (a catalog photo is named relative to it: `miel-foret.jpg`) or,
  for what the bots send, in its payments folder (QR-bills, e-Léman codes) or exports folder (/mydata). Symlinks
  are resolved and `..` refused, so that no reference leads out of those folders.
Anything else (`/proc/self/environ`, `file:///etc/passwd`, `http://…`, `../../etc/passwd`) is refused. The
catalog's entry points check references when they are written; the bots check them again before each send,
since a row already in the database is not trusted either.

The database, payment documents and logs are created readable by their owner only (`private_folder`,
`write_private`, `open_private`): 0600 files in 0700 folders, whatever the process's umask.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from marketplace.errors import InvalidInput

if TYPE_CHECKING:
    import ssl as ssl_module
    from collections.abc import Callable

    from aiohttp.abc import AbstractResolver, ResolveResult

MAX_BYTES = 10 * 1024 * 1024  # a photo Telegram accepts is at most 10 MB; a QR-bill PDF is a few dozen kB
MAX_REFERENCE = 500  # the catalog's photo_url column
FETCH_TIMEOUT = 10.0  # seconds for a whole fetch, redirects included
MAX_REDIRECTS = 3
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
TOP_LABEL = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")  # never all digits or hex: "127.1", "0x7f.0x1"
# Names that never lead to a public host (RFC 6761, RFC 8375, mDNS and common internal suffixes).
SPECIAL_NAMES = ("localhost", "local", "localdomain", "internal", "intranet", "lan", "home.arpa", "test",
                 "example", "invalid", "onion", "arpa")  # fmt: skip
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Images a chat client shows as they are; SVG is left out, as it can carry scripts.
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class MediaRefused(InvalidInput):
    """A photo or document reference the marketplace will not read, fetch or send.

    `value` is the reference (shortened), `reason` a short English phrase for reports and logs (it names no
    person)."""

    code = "media_refused"

    def __init__(self, value: str, reason: str) -> None:
        shown = value if len(value) <= 80 else value[:77] + "..."
        super().__init__(field="photo_url", value=shown, reason=reason)

    @property
    def reason(self) -> str:
        return str(self.params["reason"])


# --- addresses and URLs ----------------------------------------------------------------------------


def is_public_address(ip: Address) -> bool:
    """An address on the public internet: not loopback, private, link-local, unique-local (fc00::/7),
    shared (100.64/10), multicast, reserved or unspecified, nor an IPv6 form of such an IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(embedded):
            return False
        if ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_multicast or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
        or ip.is_unspecified
    )  # fmt: skip


def _address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _check_host(url: str, host: str) -> None:
    """A public address, or a well-formed public DNS name (its addresses are checked when it is fetched)."""
    host = host.rstrip(".")
    ip = _address(host)
    if ip is not None:
        if not is_public_address(ip):
            raise MediaRefused(url, "the host is not a public address")
        return
    try:
        name = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise MediaRefused(url, "the host is not a valid name") from None
    labels = name.split(".")
    if len(labels) < 2 or not all(LABEL.match(label) for label in labels) or not TOP_LABEL.match(labels[-1]):
        raise MediaRefused(url, "the host is not a public name")
    if any(name == special or name.endswith("." + special) for special in SPECIAL_NAMES):
        raise MediaRefused(url, "the host is a local or reserved name")


def is_url(reference: str) -> bool:
    """Whether `reference` names a scheme (`https:`, `file:`, `data:`…) rather than a file."""
    return bool(SCHEME.match(reference.strip()))


def check_url(url: str) -> str:
    """`url` if it is an https URL on a public host (by its form: a name's addresses are checked when it is
    fetched); MediaRefused otherwise."""
    url = url.strip()
    if len(url) > MAX_REFERENCE:
        raise MediaRefused(url, "the URL is too long")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F or c == "\\" for c in url):
        raise MediaRefused(url, "the URL holds spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError:
        raise MediaRefused(url, "the URL is malformed") from None
    if parts.scheme != "https":
        raise MediaRefused(url, "only https URLs are accepted")
    if "@" in parts.netloc:
        raise MediaRefused(url, "the URL carries a user name or password")
    if not parts.hostname:
        raise MediaRefused(url, "the URL has no host")
    _check_host(url, parts.hostname)
    return url


# --- local files -----------------------------------------------------------------------------------


def _relative_parts(reference: str) -> PurePosixPath:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in reference) or "\\" in reference:
        raise MediaRefused(reference, "the file name holds control characters or backslashes")
    path = PurePosixPath(reference)
    if ".." in path.parts:
        raise MediaRefused(reference, "the file name climbs out of its folder (..)")
    return path


def _inside(path: Path, folder: Path) -> bool:
    return path.is_relative_to(folder.resolve())


def check_photo(reference: str, media_dir: Path | None = None) -> str:
    """A catalog photo as it may be stored (stripped): "" for none, an https URL on a public host, or the name
    of a file relative to the media folder. With `media_dir`, the file must also be there (a symlink leading
    out of the folder is refused). MediaRefused otherwise."""
    reference = reference.strip()
    if not reference:
        return ""
    if len(reference) > MAX_REFERENCE:
        raise MediaRefused(reference, "the reference is too long")
    if is_url(reference):
        return check_url(reference)
    if reference.startswith(("/", "~")):
        raise MediaRefused(reference, "a local photo is named relative to the media folder, e.g. honey.jpg")
    _relative_parts(reference)
    if media_dir is not None:
        MediaPolicy(media_dir=media_dir).local_file(reference)
    return reference


@dataclass(frozen=True)
class MediaPolicy:
    """Where the bots may read the files they send, and how much they fetch. Without folders, only https URLs
    pass: the composition root gives the deployment's media and payments folders."""

    media_dir: Path | None = None  # catalog photos, named relative to it
    payments_dir: Path | None = None  # QR-bills and e-Léman codes written by the checkout
    exports_dir: Path | None = None  # a person's copy of their data (/mydata), deleted minutes after it is sent
    max_bytes: int = MAX_BYTES
    timeout: float = FETCH_TIMEOUT

    def remote_url(self, reference: str) -> str | None:
        """The URL to fetch or hand on if `reference` is one (checked: MediaRefused if refused); None for a
        file name."""
        return check_url(reference) if is_url(reference) else None

    def local_file(self, reference: str) -> Path:
        """The regular file `reference` names, symlinks resolved, inside the media or payments folder: a
        relative name is read in the media folder. MediaRefused for anything else."""
        parts = _relative_parts(reference)
        if parts.is_absolute():
            candidate = Path(parts)
        elif self.media_dir is not None:
            candidate = self.media_dir / parts
        else:
            raise MediaRefused(reference, "no media folder to read a file name in")
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, unreadable folder, or a symlink loop
            raise MediaRefused(reference, "no such file in the media or payments folder") from None
        folders = [folder for folder in (self.media_dir, self.payments_dir, self.exports_dir) if folder is not None]
        if not any(_inside(resolved, folder) for folder in folders):
            raise MediaRefused(reference, "the file is outside the media and payments folders")
        if not resolved.is_file():
            raise MediaRefused(reference, "not a regular file")
        return resolved

    def read_local(self, reference: str) -> bytes:
        """The bytes of the file `local_file` allows, at most `max_bytes`. The checked path is opened without
        following a symlink put in its place meanwhile, and must still be a regular file (not a FIFO)."""
        path = self.local_file(reference)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            raise MediaRefused(reference, "the file cannot be opened") from None
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise MediaRefused(reference, "not a regular file")
            data = file.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise MediaRefused(reference, "the file is too large")
        return data


# --- fetching an https URL -------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str
    url: str  # after redirects


class PublicResolver:
    """An aiohttp resolver that refuses a name if any of its addresses is not public, so that the connection
    goes only to addresses checked at that moment (a name that resolved to a public address at import and
    to 127.0.0.1 now is refused)."""

    def __init__(
        self, base: AbstractResolver | None = None, allowed: Callable[[Address], bool] = is_public_address
    ) -> None:
        self._base, self._allowed = base, allowed

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        if self._base is None:
            from aiohttp.resolver import ThreadedResolver

            self._base = ThreadedResolver()
        results = await self._base.resolve(host, port, family)  # type: ignore[arg-type]
        for result in results:
            ip = _address(str(result["host"]).partition("%")[0])
            if ip is None or not self._allowed(ip):
                raise NonPublicAddress(host)
        return results

    async def close(self) -> None:
        if self._base is not None:
            await self._base.close()


class NonPublicAddress(OSError):
    """A name resolved to an address that is not public (raised by PublicResolver inside aiohttp)."""


async def fetch_public(
    url: str,
    policy: MediaPolicy,
    *,
    image: bool,
    resolver: Any = None,
    ssl: ssl_module.SSLContext | bool = True,
) -> Fetched:
    """The bytes at an https URL on a public host, following at most MAX_REDIRECTS redirects, each checked
    like the URL itself; within `policy.timeout` and `policy.max_bytes`; an image only if `image`.

    `resolver` and `ssl` are for tests (a fake DNS, a self-signed certificate). MediaRefused when refused;
    aiohttp.ClientError or TimeoutError when the network fails."""
    import aiohttp

    current = check_url(url)
    timeout = aiohttp.ClientTimeout(total=policy.timeout)
    connector = aiohttp.TCPConnector(resolver=resolver or PublicResolver(), ssl=ssl, use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as session:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                async with session.get(current, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        current = check_url(urljoin(current, response.headers.get("Location", "")))
                        continue
                    return await _body(url, current, response, policy, image)
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.__cause__, NonPublicAddress) or isinstance(exc.os_error, NonPublicAddress):
                    raise MediaRefused(url, "the host resolves to an address that is not public") from None
                raise
    raise MediaRefused(url, "too many redirects")


async def _body(url: str, current: str, response: Any, policy: MediaPolicy, image: bool) -> Fetched:
    if response.status != 200:
        raise MediaRefused(url, f"the server answered {response.status}")
    content_type = response.content_type or "application/octet-stream"
    if image and content_type not in IMAGE_TYPES:
        raise MediaRefused(url, f"not an image ({content_type})")
    if (response.content_length or 0) > policy.max_bytes:
        raise MediaRefused(url, "the file is too large")
    data = bytearray()
    async for chunk in response.content.iter_chunked(65536):
        data += chunk
        if len(data) > policy.max_bytes:
            raise MediaRefused(url, "the file is too large")
    return Fetched(bytes(data), content_type, current)


# --- files only their owner reads ------------------------------------------------------------------

PRIVATE_FILE, PRIVATE_FOLDER = 0o600, 0o700


def _create_parents(path: Path) -> None:
    """Create the missing folders above `path`, 0700 (mkdir's mode goes through the umask; chmod does not).
    Folders that already existed are left as they are."""
    missing = [parent for parent in path.parents if not parent.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, PRIVATE_FOLDER)


def private_folder(folder: Path) -> Path:
    """Create `folder` readable by its owner only, or make it so if it exists: it is one of the deployment's
    own folders for private files (payment documents, logs)."""
    _create_parents(folder / "_")
    os.chmod(folder, PRIVATE_FOLDER)
    return folder


def open_private(path: Path, mode: str = "wb") -> IO[Any]:
    """Open `path` for writing ("wb", "ab", or text "w", "a"), created 0600 (and missing folders 0700); a file
    that already existed is made 0600 too. A symlink in its place is refused (O_NOFOLLOW)."""
    _create_parents(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        return os.fdopen(fd, mode)
    except BaseException:
        os.close(fd)
        raise


def write_private(path: Path, data: bytes) -> Path:
    """Write `data` to `path`, readable by its owner only (see `open_private`)."""
    with open_private(path) as file:
        file.write(data)
    return path


def create_private_file(path: Path) -> None:
    """Create `path` empty and 0600 if it does not exist yet (missing folders 0700): an SQLite file before
    SQLite opens it, as SQLite gives its journal and WAL files the mode of the database file."""
    if path.exists():
        return
    _create_parents(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


# --- photos received in a chat ---------------------------------------------------------------------

PHOTO_MAX_BYTES = 5 * 1024 * 1024  # a phone photo, as Telegram and Matrix clients compress it, is well below
PRODUCT_PHOTOS = "products"  # the media folder's subfolder for photos sent by vendors
# Recognised by their first bytes, never by the name or type the sender claims.
_PHOTO_MAGIC = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"))


class PhotoRefused(InvalidInput):
    """A photo sent in a chat that is not stored: too large (`photo_too_large`, with `max_mb`) or not a PNG,
    JPEG or WebP image (`photo_not_an_image`)."""

    code = "photo_refused"

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(**params)
        self._code = code

    @property
    def message_key(self) -> str:
        return f"error.{self._code}"


def photo_extension(data: bytes) -> str | None:
    """"jpg", "png" or "webp" when `data` starts like such an image; None otherwise (SVG, GIF, PDF, text...)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((ext for magic, ext in _PHOTO_MAGIC if data.startswith(magic)), None)


def check_photo_size(size: int | None, max_bytes: int = PHOTO_MAX_BYTES) -> None:
    """Refuse a photo announced larger than `max_bytes` before fetching it (the size the platform gives)."""
    if size is not None and size > max_bytes:
        raise PhotoRefused("photo_too_large", max_mb=max_bytes // (1024 * 1024))


def store_photo(data: bytes, media_dir: Path, max_bytes: int = PHOTO_MAX_BYTES) -> str:
    """Keep a photo received in a chat in `media_dir/products/` under a random name, owner-only, and return its
    reference relative to the media folder (what `check_photo` and the bots read). PhotoRefused when it is
    larger than `max_bytes` or not a PNG, JPEG or WebP image by its content."""
    import secrets

    check_photo_size(len(data), max_bytes)
    extension = photo_extension(data)
    if extension is None:
        raise PhotoRefused("photo_not_an_image")
    reference = f"{PRODUCT_PHOTOS}/{secrets.token_hex(12)}.{extension}"
    write_private(media_dir / reference, data)
    return reference
