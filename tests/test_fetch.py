"""bot.ingest.fetch against a real HTTP server on loopback, and the address guard."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.ingest.fetch import (
    ACCEPT,
    Fetcher,
    FetchError,
    FetchErrorKind,
    FetchLimits,
    FetchResult,
    create_session,
)
from bot.ingest.netguard import (
    AddressGuard,
    BlockedAddressError,
    GuardedResolver,
    is_legacy_ipv4,
    is_public_address,
)
from tests.support.feed_server import FeedServer, Route, feed_server, gzip_bomb

MB = 1024 * 1024
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Tin</title></channel></rss>'
LOOPBACK = FetchLimits(allow_private=True, total_timeout=5.0)
CHALLENGE_PAGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    b'<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1"></script>'
    b"</body></html>"
)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async for running in feed_server():
        yield running


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(LOOPBACK) as f:
        yield f


async def fetch_error(fetcher: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)
    return caught.value


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- plain fetches and conditional GET -------------------------------------


async def test_fetch_returns_body_status_and_lowercase_headers(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set_feed("/rss", RSS, headers={"Content-Type": "application/rss+xml", "X-Feed": "a"})

    result = await fetcher.fetch(server.url("/rss"))

    assert result.status == 200
    assert not result.not_modified
    assert result.body == RSS
    assert result.url == server.url("/rss")
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.headers["x-feed"] == "a"


async def test_fetch_sends_user_agent_accept_and_compression(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set_feed("/rss", RSS)

    await fetcher.fetch(server.url("/rss"))

    sent = server.last_headers("/rss")
    assert sent["user-agent"] == LOOPBACK.user_agent
    assert sent["accept"] == ACCEPT
    assert "gzip" in sent["accept-encoding"]
    assert "if-none-match" not in sent
    assert "if-modified-since" not in sent


async def test_gzip_body_is_decompressed(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/rss", RSS * 100, gzip=True)

    result = await fetcher.fetch(server.url("/rss"))

    assert result.body == RSS * 100
    assert result.headers["content-encoding"] == "gzip"


async def test_etag_and_last_modified_are_captured(server: FeedServer, fetcher: Fetcher) -> None:
    stamp = "Sun, 04 Jun 2023 08:00:00 GMT"
    server.set_feed("/rss", RSS, etag='"v1"', last_modified=stamp)

    result = await fetcher.fetch(server.url("/rss"))

    assert result.etag == '"v1"'
    assert result.last_modified == stamp


async def test_missing_validators_are_none(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/rss", RSS)

    result = await fetcher.fetch(server.url("/rss"))

    assert result.etag is None
    assert result.last_modified is None


async def test_matching_etag_gives_304_with_empty_body(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set_feed("/rss", RSS, etag='"v1"')

    result = await fetcher.fetch(server.url("/rss"), etag='"v1"')

    assert result.status == 304
    assert result.not_modified
    assert result.body == b""
    assert result.etag == '"v1"'
    assert server.last_headers("/rss")["if-none-match"] == '"v1"'


async def test_matching_last_modified_gives_304(server: FeedServer, fetcher: Fetcher) -> None:
    stamp = "Sun, 04 Jun 2023 08:00:00 GMT"
    server.set_feed("/rss", RSS, last_modified=stamp)

    result = await fetcher.fetch(server.url("/rss"), last_modified=stamp)

    assert result.not_modified
    assert server.last_headers("/rss")["if-modified-since"] == stamp


async def test_changed_etag_gives_full_body(server: FeedServer, fetcher: Fetcher) -> None:
    server.set_feed("/rss", RSS, etag='"v2"')

    result = await fetcher.fetch(server.url("/rss"), etag='"v1"')

    assert result.status == 200
    assert result.body == RSS
    assert result.etag == '"v2"'


def test_fetch_result_is_frozen() -> None:
    result = FetchResult(url="http://example.invalid/", status=200, body=b"x", headers={})
    with pytest.raises(AttributeError):
        result.status = 304  # type: ignore[misc]


# --- redirects ---------------------------------------------------------------


async def test_relative_redirects_are_resolved_against_current_url(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.redirect("/old/feed", "/new/feed", status=301)
    server.redirect("/new/feed", "final", status=307)
    server.set_feed("/new/final", RSS)

    result = await fetcher.fetch(server.url("/old/feed"))

    assert result.body == RSS
    assert result.url == server.url("/new/final")


async def test_absolute_redirect_is_followed(server: FeedServer, fetcher: Fetcher) -> None:
    server.redirect("/a", server.url("/b"), status=308)
    server.set_feed("/b", RSS)

    result = await fetcher.fetch(server.url("/a"))

    assert result.body == RSS
    assert result.url == server.url("/b")


async def test_conditional_headers_travel_with_redirects(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.redirect("/a", "/b")
    server.set_feed("/b", RSS, etag='"v1"')

    result = await fetcher.fetch(server.url("/a"), etag='"v1"')

    assert result.not_modified
    assert result.url == server.url("/b")


async def test_redirect_loop_is_too_many_redirects(server: FeedServer, fetcher: Fetcher) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")

    error = await fetch_error(fetcher, server.url("/a"))

    assert error.kind is FetchErrorKind.TOO_MANY_REDIRECTS
    assert server.hits("/a") + server.hits("/b") == LOOPBACK.max_redirects + 1


async def test_redirect_chain_at_the_limit_is_followed(server: FeedServer) -> None:
    limits = FetchLimits(allow_private=True, max_redirects=3)
    for hop in range(3):
        server.redirect(f"/{hop}", f"/{hop + 1}")
    server.set_feed("/3", RSS)

    async with Fetcher(limits) as fetcher:
        assert (await fetcher.fetch(server.url("/0"))).body == RSS
        server.redirect("/3", "/4")
        server.set_feed("/4", RSS)
        error = await fetch_error(fetcher, server.url("/0"))

    assert error.kind is FetchErrorKind.TOO_MANY_REDIRECTS


async def test_redirect_to_other_scheme_is_invalid_url(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.redirect("/a", "ftp://127.0.0.1/feed")

    error = await fetch_error(fetcher, server.url("/a"))

    assert error.kind is FetchErrorKind.INVALID_URL


async def test_redirect_without_location_is_http_status(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set("/a", Route(status=302))

    error = await fetch_error(fetcher, server.url("/a"))

    assert error.kind is FetchErrorKind.HTTP_STATUS


# --- address guard on the whole fetch ----------------------------------------


async def test_private_guard_refuses_loopback_literal(server: FeedServer) -> None:
    server.set_feed("/rss", RSS)

    async with Fetcher(FetchLimits()) as fetcher:
        error = await fetch_error(fetcher, server.url("/rss"))

    assert error.kind is FetchErrorKind.BLOCKED_ADDRESS
    assert server.hits("/rss") == 0


async def test_private_guard_refuses_localhost_by_name(server: FeedServer) -> None:
    server.set_feed("/rss", RSS)

    async with Fetcher(FetchLimits()) as fetcher:
        error = await fetch_error(fetcher, f"http://localhost:{server.port}/rss")

    assert error.kind is FetchErrorKind.BLOCKED_ADDRESS
    assert server.hits("/rss") == 0


@pytest.mark.parametrize(
    "host",
    ["[::1]", "[::ffff:127.0.0.1]", "0.0.0.0", "169.254.169.254", "100.64.0.1", "[fe80::1]"],
)
async def test_private_guard_refuses_literals_without_connecting(host: str) -> None:
    async with Fetcher(FetchLimits(total_timeout=1.0)) as fetcher:
        error = await fetch_error(fetcher, f"http://{host}/feed")

    assert error.kind is FetchErrorKind.BLOCKED_ADDRESS


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0x7f.0.0.1", "017700000001"])
async def test_legacy_numeric_hosts_never_connect(server: FeedServer, host: str) -> None:
    server.set_feed("/rss", RSS)

    async with Fetcher(LOOPBACK) as fetcher:
        error = await fetch_error(fetcher, f"http://{host}:{server.port}/rss")

    assert error.kind in {FetchErrorKind.INVALID_URL, FetchErrorKind.BLOCKED_ADDRESS}
    assert server.hits("/rss") == 0


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/feed",
        "http://127.0.0.2:{port}/rss",
        "http://[::1]:{port}/rss",
        "http://[::ffff:127.0.0.2]:{port}/rss",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_every_redirect_hop_is_guarded(server: FeedServer, target: str) -> None:
    # Only the server's own address is let through, as an operator would
    # open a hole for one intranet feed; every other private hop must fail
    # before any connection (10.0.0.1 would otherwise hang until timeout).
    server.set_feed("/rss", RSS)
    server.redirect("/start", target.format(port=server.port))
    guard = AddressGuard.allowing(["127.0.0.1/32"])

    async with Fetcher(FetchLimits(total_timeout=2.0), guard=guard) as fetcher:
        assert (await fetcher.fetch(server.url("/rss"))).body == RSS
        started = time.monotonic()
        error = await fetch_error(fetcher, server.url("/start"))

    assert error.kind is FetchErrorKind.BLOCKED_ADDRESS
    assert time.monotonic() - started < 1.0
    assert server.hits("/rss") == 1


# --- time and size limits ----------------------------------------------------


async def test_slow_drip_times_out_within_budget(server: FeedServer) -> None:
    server.set("/slow", Route(body=RSS * 10, drip=(1, 0.05)))

    async with Fetcher(FetchLimits(allow_private=True, total_timeout=0.5)) as fetcher:
        started = time.monotonic()
        error = await fetch_error(fetcher, server.url("/slow"))

    assert error.kind is FetchErrorKind.TIMEOUT
    assert time.monotonic() - started < 1.5


async def test_slow_first_byte_times_out(server: FeedServer) -> None:
    server.set("/late", Route(body=RSS, delay=5.0))

    async with Fetcher(FetchLimits(allow_private=True, total_timeout=0.3)) as fetcher:
        started = time.monotonic()
        error = await fetch_error(fetcher, server.url("/late"))

    assert error.kind is FetchErrorKind.TIMEOUT
    assert time.monotonic() - started < 1.5


async def test_timeout_budget_spans_all_redirect_hops(server: FeedServer) -> None:
    for hop in range(4):
        server.set(f"/{hop}", Route(status=302, headers={"Location": f"/{hop + 1}"}, delay=0.2))
    server.set_feed("/4", RSS)

    async with Fetcher(FetchLimits(allow_private=True, total_timeout=0.5)) as fetcher:
        started = time.monotonic()
        error = await fetch_error(fetcher, server.url("/0"))

    assert error.kind is FetchErrorKind.TIMEOUT
    assert time.monotonic() - started < 1.2


async def test_gzip_bomb_stops_early(server: FeedServer) -> None:
    bomb = gzip_bomb(50 * MB)
    server.set("/bomb", Route(body=bomb, headers={"Content-Encoding": "gzip"}))
    limits = FetchLimits(allow_private=True, max_body_bytes=1 * MB, total_timeout=5.0)

    async with Fetcher(limits) as fetcher:
        tracemalloc.start()
        started = time.monotonic()
        try:
            error = await fetch_error(fetcher, server.url("/bomb"))
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert len(bomb) < MB
    assert error.kind is FetchErrorKind.TOO_LARGE
    assert elapsed < 1.0
    assert peak < 16 * MB


async def test_oversized_streamed_body_is_too_large(server: FeedServer) -> None:
    server.set("/big", Route(body=b"x" * (3 * MB), drip=(256 * 1024, 0.0)))
    limits = FetchLimits(allow_private=True, max_body_bytes=1 * MB)

    async with Fetcher(limits) as fetcher:
        error = await fetch_error(fetcher, server.url("/big"))

    assert error.kind is FetchErrorKind.TOO_LARGE


async def test_body_exactly_at_cap_is_accepted(server: FeedServer) -> None:
    server.set("/edge", Route(body=b"x" * MB, drip=(64 * 1024, 0.0)))
    limits = FetchLimits(allow_private=True, max_body_bytes=MB)

    async with Fetcher(limits) as fetcher:
        result = await fetcher.fetch(server.url("/edge"))

    assert len(result.body) == MB


async def test_content_length_over_cap_is_refused_before_reading(server: FeedServer) -> None:
    # The server declares 10 MB but sends 10 bytes and then stalls, so only a
    # check of Content-Length can answer before the timeout.
    server.set("/huge", Route(body=b"x" * 10, declared_length=10 * MB))
    limits = FetchLimits(allow_private=True, max_body_bytes=MB, total_timeout=3.0)

    async with Fetcher(limits) as fetcher:
        started = time.monotonic()
        error = await fetch_error(fetcher, server.url("/huge"))

    assert error.kind is FetchErrorKind.TOO_LARGE
    assert time.monotonic() - started < 1.0


# --- HTTP errors and anti-bot walls -------------------------------------------


async def test_404_is_http_status(server: FeedServer, fetcher: Fetcher) -> None:
    error = await fetch_error(fetcher, server.url("/missing"))

    assert error.kind is FetchErrorKind.HTTP_STATUS
    assert error.status == 404
    assert error.retry_after is None


async def test_429_retry_after_seconds(server: FeedServer, fetcher: Fetcher) -> None:
    server.set("/rss", Route(status=429, headers={"Retry-After": "120"}))

    error = await fetch_error(fetcher, server.url("/rss"))

    assert error.kind is FetchErrorKind.HTTP_STATUS
    assert error.status == 429
    assert error.retry_after == 120


async def test_503_retry_after_http_date(server: FeedServer, fetcher: Fetcher) -> None:
    when = datetime.now(UTC) + timedelta(seconds=90)
    server.set("/rss", Route(status=503, headers={"Retry-After": format_datetime(when, True)}))

    error = await fetch_error(fetcher, server.url("/rss"))

    assert error.status == 503
    assert error.retry_after is not None
    assert 85 <= error.retry_after <= 91


async def test_cloudflare_challenge_header_is_anti_bot(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set("/rss", Route(status=403, body=b"denied", headers={"cf-mitigated": "challenge"}))

    error = await fetch_error(fetcher, server.url("/rss"))

    assert error.kind is FetchErrorKind.ANTI_BOT
    assert error.status == 403


@pytest.mark.parametrize("status", [403, 503])
async def test_challenge_page_on_error_status_is_anti_bot(
    server: FeedServer, fetcher: Fetcher, status: int
) -> None:
    server.set("/rss", Route(status=status, body=CHALLENGE_PAGE, headers={"Server": "cloudflare"}))

    error = await fetch_error(fetcher, server.url("/rss"))

    assert error.kind is FetchErrorKind.ANTI_BOT
    assert error.status == status


async def test_challenge_page_served_as_200_html_is_anti_bot(
    server: FeedServer, fetcher: Fetcher
) -> None:
    page = b"<html><title>Attention Required! | Cloudflare</title><p>Please complete the captcha"
    server.set("/rss", Route(body=page, headers={"Content-Type": "text/html; charset=utf-8"}))

    error = await fetch_error(fetcher, server.url("/rss"))

    assert error.kind is FetchErrorKind.ANTI_BOT


async def test_feed_that_mentions_captcha_is_not_anti_bot(
    server: FeedServer, fetcher: Fetcher
) -> None:
    feed = b"<rss><channel><item><title>New captcha rules</title></item></channel></rss>"
    server.set("/rss", Route(body=feed, headers={"Content-Type": "text/html"}))

    result = await fetcher.fetch(server.url("/rss"))

    assert result.body == feed


async def test_article_page_loading_a_captcha_script_is_not_anti_bot(
    server: FeedServer, fetcher: Fetcher
) -> None:
    page = (
        b"<html><head><script src='https://www.google.com/recaptcha/api.js'></script></head>"
        b"<body><h1>Tin t\xe1\xbb\xa9c</h1><form class='g-recaptcha'></form></body></html>"
    )
    server.set("/tin-d123.html", Route(body=page, headers={"Content-Type": "text/html"}))

    result = await fetcher.fetch(server.url("/tin-d123.html"))

    assert result.body == page


async def test_403_page_asking_for_a_captcha_is_anti_bot(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.set("/rss", Route(status=403, body=b"<html>Please solve the CAPTCHA</html>"))

    error = await fetch_error(fetcher, server.url("/rss"))

    assert error.kind is FetchErrorKind.ANTI_BOT


async def test_plain_403_is_http_status(server: FeedServer, fetcher: Fetcher) -> None:
    server.set("/rss", Route(status=403, body=b"Forbidden"))

    error = await fetch_error(fetcher, server.url("/rss"))

    assert error.kind is FetchErrorKind.HTTP_STATUS
    assert error.status == 403


# --- bad URLs and broken connections ------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/feed.xml", "javascript:alert(1)", "file:///etc/passwd", "", "http://"],
)
async def test_non_http_urls_are_invalid(fetcher: Fetcher, url: str) -> None:
    error = await fetch_error(fetcher, url)

    assert error.kind is FetchErrorKind.INVALID_URL


async def test_connection_refused_is_connection_error(fetcher: Fetcher) -> None:
    error = await fetch_error(fetcher, f"http://127.0.0.1:{closed_port()}/rss")

    assert error.kind is FetchErrorKind.CONNECTION


async def test_error_detail_never_carries_the_query_string(
    server: FeedServer, fetcher: Fetcher
) -> None:
    secret = "s3cr3t-token"
    server.set("/slow", Route(body=RSS, delay=5.0))
    urls = [
        server.url(f"/missing?token={secret}"),
        f"http://127.0.0.1:{closed_port()}/rss?token={secret}",
        f"ftp://user:{secret}@example.com/?token={secret}",
    ]
    errors = [await fetch_error(fetcher, url) for url in urls]
    async with Fetcher(FetchLimits(allow_private=True, total_timeout=0.2)) as quick:
        errors.append(await fetch_error(quick, server.url(f"/slow?token={secret}")))

    for error in errors:
        assert secret not in error.detail
        assert secret not in str(error)
        assert secret not in repr(error)
        assert error.__cause__ is None


# --- per-host concurrency ------------------------------------------------------


async def test_per_host_concurrency_cap_is_respected(server: FeedServer) -> None:
    server.set("/rss", Route(body=RSS, delay=0.1))
    limits = FetchLimits(allow_private=True, per_host_concurrency=2)

    async with Fetcher(limits) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url("/rss")) for _ in range(6)))

    assert all(r.body == RSS for r in results)
    assert server.hits("/rss") == 6
    assert server.max_in_flight == 2


async def test_fetcher_without_context_manager_opens_lazily(server: FeedServer) -> None:
    server.set_feed("/rss", RSS)
    fetcher = Fetcher(LOOPBACK)
    try:
        assert (await fetcher.fetch(server.url("/rss"))).body == RSS
    finally:
        await fetcher.close()


async def test_injected_session_is_used_and_left_open(server: FeedServer) -> None:
    server.set_feed("/rss", RSS)
    async with aiohttp.ClientSession() as session:
        async with Fetcher(LOOPBACK, session=session) as fetcher:
            result = await fetcher.fetch(server.url("/rss"))
        assert not session.closed

    assert result.body == RSS
    assert server.last_headers("/rss")["user-agent"] == LOOPBACK.user_agent


async def test_injected_session_from_create_session_keeps_the_name_guard(
    server: FeedServer,
) -> None:
    server.set_feed("/rss", RSS)
    limits = FetchLimits()
    async with create_session(limits) as session:
        fetcher = Fetcher(limits, session=session)
        error = await fetch_error(fetcher, f"http://localhost:{server.port}/rss")

    assert error.kind is FetchErrorKind.BLOCKED_ADDRESS
    assert server.hits("/rss") == 0


# --- the address classifier and resolver ----------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "::",
        "255.255.255.255",
        "224.0.0.1",
        "240.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))
    assert not AddressGuard().allows(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["1.1.1.1", "8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1", "64:ff9b::101:101"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


def test_guard_switches() -> None:
    loopback = ipaddress.ip_address("127.0.0.1")
    assert AddressGuard(allow_private=True).allows(loopback)
    assert AddressGuard.allowing(["127.0.0.0/8"]).allows(loopback)
    assert not AddressGuard.allowing(["10.0.0.0/8"]).allows(loopback)


def test_legacy_ipv4_detection() -> None:
    assert is_legacy_ipv4("2130706433")
    assert is_legacy_ipv4("127.1")
    assert not is_legacy_ipv4("127.0.0.1")
    assert not is_legacy_ipv4("example.com")


class StubResolver(AbstractResolver):
    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        pass


async def test_resolver_drops_private_addresses() -> None:
    resolver = GuardedResolver(AddressGuard(), StubResolver("10.0.0.1", "1.1.1.1", "::1"))

    results = await resolver.resolve("feeds.example", 443)

    assert [r["host"] for r in results] == ["1.1.1.1"]


async def test_resolver_refuses_names_with_only_private_addresses() -> None:
    resolver = GuardedResolver(AddressGuard(), StubResolver("127.0.0.1", "fe80::1"))

    with pytest.raises(BlockedAddressError):
        await resolver.resolve("rebound.example", 80)


async def test_resolver_refuses_localhost() -> None:
    resolver = GuardedResolver(AddressGuard())
    try:
        with pytest.raises(BlockedAddressError):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


async def test_resolver_allows_localhost_when_private_is_allowed() -> None:
    resolver = GuardedResolver(AddressGuard(allow_private=True))
    try:
        results = await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()

    assert results
    assert all(not is_public_address(ipaddress.ip_address(r["host"])) for r in results)
