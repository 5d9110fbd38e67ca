"""Where a feed may be fetched from and how much of it: schemes, hosts on the local network, redirects, size
caps (declared and streamed), timeouts; and the schedule's notation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from catalog.sources import Source, format_every, parse_every
from catalog.sync import FeedFetchError, check_location, check_public_host, fetch
from marketplace.errors import InvalidInput

PUBLIC = "https://feeds.example.org/catalog.jsonld"


def transport(handler):  # type: ignore[no-untyped-def]
    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("text", "seconds"), [("6h", 21600), ("30m", 1800), ("1d", 86400), (" 2 H ", 7200), ("", None), (None, None)]
)
def test_schedules_are_read_in_minutes_hours_or_days(text, seconds):
    assert parse_every(text) == seconds
    if seconds:
        assert parse_every(format_every(seconds)) == seconds


@pytest.mark.parametrize("text", ["5m", "6 hours", "-1h", "h", "99999h", "1w"])
def test_a_schedule_too_frequent_or_unreadable_is_refused(text):
    with pytest.raises(InvalidInput):
        parse_every(text)


def test_a_source_is_due_when_its_time_has_come_and_never_when_paused():
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    source = Source(every_seconds=3600, paused=False, last_run_at=now - timedelta(minutes=30))
    assert not source.due(now) and source.due(now + timedelta(minutes=30))
    assert Source(every_seconds=3600, paused=False, last_run_at=None).due(now)
    assert not Source(every_seconds=None, paused=False, last_run_at=None).due(now)
    assert not Source(every_seconds=3600, paused=True, last_run_at=None).due(now)


@pytest.mark.parametrize(
    ("location", "kind"),
    [(PUBLIC, "http"), ("http://feeds.example.org/f.csv", "http"), ("/srv/feeds/a.jsonld", "file"),
     ("file:///srv/feeds/a.jsonld", "file"), ("feeds/a.csv", "file")],
)  # fmt: skip
def test_http_https_and_files_are_locations(location, kind):
    assert check_location(location)[0] == kind


@pytest.mark.parametrize(
    "location",
    ["ftp://feeds.example.org/f", "gopher://x.example/", "https://user:pw@feeds.example.org/f",
     "file://otherhost/etc/passwd", "https:///nohost", "https://x.example:99999/", "", "https://x.exa\tmple/"],
)  # fmt: skip
def test_other_locations_are_refused(location):
    with pytest.raises(InvalidInput):
        check_location(location)


@pytest.mark.parametrize(
    "addresses", [["127.0.0.1"], ["10.1.2.3"], ["192.168.1.10"], ["169.254.169.254"], ["::1"], ["fd00::1"],
                  ["93.184.216.34", "10.0.0.1"]],
)  # fmt: skip
def test_a_host_on_the_local_network_is_refused(addresses):
    with pytest.raises(FeedFetchError, match="not a public address"):
        check_public_host("feeds.example.org", lambda _host: addresses)


def test_a_public_host_and_a_public_address_are_accepted():
    check_public_host("feeds.example.org", lambda _host: ["93.184.216.34", "2606:2800:220:1::"])
    check_public_host("93.184.216.34")


def test_a_url_naming_a_private_address_is_refused_before_any_request():
    requests = []

    def handler(request):  # type: ignore[no-untyped-def]
        requests.append(request)
        return httpx.Response(200, content=b"{}")

    with pytest.raises(FeedFetchError):
        fetch("http://127.0.0.1:8089/leman/webhook", transport=transport(handler))
    assert requests == []


def test_a_feed_is_fetched_without_following_redirects():
    def handler(request):  # type: ignore[no-untyped-def]
        if request.url.path == "/catalog.jsonld":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
        return httpx.Response(200, content=b"secret")

    with pytest.raises(FeedFetchError, match="redirect"):
        fetch(PUBLIC, allow_private=True, transport=transport(handler))


def test_a_feed_larger_than_the_cap_is_refused_whether_declared_or_streamed():
    def declared(_request):  # type: ignore[no-untyped-def]
        return httpx.Response(200, headers={"Content-Length": "999999999"}, content=b"{}")

    def streamed(_request):  # type: ignore[no-untyped-def]
        return httpx.Response(200, content=iter([b"x" * 1000] * 50))  # no Content-Length: counted while read

    for handler in (declared, streamed):
        with pytest.raises(FeedFetchError, match="larger than"):
            fetch(PUBLIC, max_bytes=10_000, allow_private=True, transport=transport(handler))
    body = fetch(PUBLIC, max_bytes=100_000, allow_private=True, transport=transport(streamed))
    assert len(body) == 50_000


def test_http_errors_and_timeouts_are_reported_not_raised_raw():
    def failing(_request):  # type: ignore[no-untyped-def]
        return httpx.Response(503)

    def slow(request):  # type: ignore[no-untyped-def]
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(FeedFetchError, match="HTTP 503"):
        fetch(PUBLIC, allow_private=True, transport=transport(failing))
    with pytest.raises(FeedFetchError, match="ReadTimeout"):
        fetch(PUBLIC, allow_private=True, transport=transport(slow))


def test_a_file_feed_is_read_within_the_cap(tmp_path):
    path = tmp_path / "feed.csv"
    path.write_bytes(b"a" * 2000)
    assert fetch(str(path)) == b"a" * 2000
    assert fetch(path.as_uri()) == b"a" * 2000
    with pytest.raises(FeedFetchError, match="larger than"):
        fetch(str(path), max_bytes=1000)
    with pytest.raises(FeedFetchError, match="cannot read"):
        fetch(str(tmp_path / "missing.csv"))
