"""Download feeds: the only module that fetches a URL the bot was handed.

Every limit a hostile or broken feed server could push against lives here:
a total time budget, a body cap counted after decompression, a redirect cap,
an address guard on every hop, and a per-host concurrency cap. Errors carry
the host and the status only, never the full URL, because feed URLs may hold
access tokens in their query string (ARCHITECTURE.md rule 8).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import aiohttp
from yarl import URL

from bot.ingest.freshness import parse_retry_after
from bot.ingest.netguard import (
    AddressGuard,
    BlockedAddressError,
    GuardedResolver,
    is_legacy_ipv4,
    parse_ip,
)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
    "text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# "Moved for good": the only answers that may, repeated, change a feed's stored URL.
_PERMANENT_REDIRECTS = frozenset({301, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_CHALLENGE_STATUSES = frozenset({403, 429, 503})
_CHUNK_SIZE = 64 * 1024
# Only so much of an error page is needed to recognise a challenge wall, and
# an error page is no reason to download megabytes.
_SNIFF_BYTES = 64 * 1024
# Markers of an interstitial challenge page (Cloudflare and the like). On an
# error status a page that merely mentions a captcha is a wall too.
_CHALLENGE_MARKERS = (
    b"cf-chl",
    b"cf_chl",
    b"challenge-platform",
    b"attention required",
    b"just a moment...",
)
_ERROR_PAGE_MARKERS = (*_CHALLENGE_MARKERS, b"captcha")
# A real feed may quote these words in an article, and a real article page may
# load a captcha script for its comment form: a 200 page is a wall only when it
# is not a feed and carries a challenge marker proper.
_FEED_MARKERS = (b"<rss", b"<feed", b"<rdf:rdf")


class FetchErrorKind(enum.StrEnum):
    TIMEOUT = "timeout"
    HTTP_STATUS = "http_status"
    TOO_LARGE = "too_large"
    BLOCKED_ADDRESS = "blocked_address"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    CONNECTION = "connection"
    ANTI_BOT = "anti_bot"
    INVALID_URL = "invalid_url"


class FetchError(Exception):
    """A fetch that produced no usable response.

    `detail` is short and safe to show or log: it names the host and status
    at most. `retry_after` is in seconds, from a 429/503 Retry-After.
    """

    def __init__(
        self,
        kind: FetchErrorKind,
        detail: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass(frozen=True)
class FetchLimits:
    total_timeout: float = 20.0
    max_body_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    per_host_concurrency: int = 2
    user_agent: str = "newsbot/0.1 (+https://github.com/newsbot; RSS reader)"
    allow_private: bool = False


@dataclass(frozen=True)
class FetchResult:
    url: str
    """The final URL, after redirects."""
    status: int
    """200 (any 2xx) or 304."""
    body: bytes
    """Decompressed; b"" on 304."""
    headers: dict[str, str] = field(default_factory=dict)
    """Response headers with lower-case names; repeated headers joined by ", "."""
    moved_to: str | None = None
    """The final URL when the request was redirected and every redirect was permanent
    (301/308): where the feed says it now lives. None otherwise (no redirect, or a
    302/303/307 anywhere on the way)."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


def create_session(limits: FetchLimits, guard: AddressGuard | None = None) -> aiohttp.ClientSession:
    """A session whose connector resolves host names through the address guard.

    Must be called with an event loop running. A session built any other way
    has host names resolved unchecked: only IP literals are then guarded.
    """
    guard = guard if guard is not None else AddressGuard(allow_private=limits.allow_private)
    connector = aiohttp.TCPConnector(limit=100, resolver=GuardedResolver(guard))
    # trust_env stays off: a proxy from the environment would connect on our
    # behalf to addresses the resolver never sees.
    return aiohttp.ClientSession(connector=connector, trust_env=False)


class Fetcher:
    """Fetches feeds within `FetchLimits`; use as `async with Fetcher() as f`.

    `guard` overrides the address policy derived from `limits.allow_private`
    (e.g. to allow one intranet network). A `session` passed in is used as is
    and never closed here; build it with `create_session(limits, guard)`,
    since the guard on host names lives in that session's resolver.
    """

    def __init__(
        self,
        limits: FetchLimits = FetchLimits(),
        *,
        session: aiohttp.ClientSession | None = None,
        guard: AddressGuard | None = None,
    ) -> None:
        self._limits = limits
        self._guard = guard if guard is not None else AddressGuard(limits.allow_private)
        self._session = session
        self._owns_session = session is None
        self._host_slots: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Self:
        self._get_session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = create_session(self._limits, self._guard)
        return self._session

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET `url`, following redirects by hand; raises FetchError."""
        current = _parse_url(url)
        # Sent per request rather than as session defaults, so a session
        # passed in by the caller sends them too.
        headers = {
            "User-Agent": self._limits.user_agent,
            "Accept": ACCEPT,
            **_conditional_headers(etag, last_modified),
        }
        budget = self._limits.total_timeout
        redirected, permanent = False, True
        for _hop in range(self._limits.max_redirects + 1):
            self._check_literal_address(current)
            async with self._host_slot(_host(current)):
                started = time.monotonic()
                outcome = await self._request(current, headers, budget)
                budget -= time.monotonic() - started
            if isinstance(outcome, FetchResult):
                if redirected and permanent:
                    return dataclasses.replace(outcome, moved_to=outcome.url)
                return outcome
            current, hop_permanent = outcome
            redirected, permanent = True, permanent and hop_permanent
            if budget <= 0:
                raise FetchError(FetchErrorKind.TIMEOUT, f"timed out fetching {_host(current)}")
        raise FetchError(
            FetchErrorKind.TOO_MANY_REDIRECTS,
            f"more than {self._limits.max_redirects} redirects, last at {_host(current)}",
        )

    def _check_literal_address(self, url: URL) -> None:
        # aiohttp skips the resolver for IP literals, so they are checked here.
        host = _host(url)
        if is_legacy_ipv4(host):
            raise FetchError(FetchErrorKind.INVALID_URL, "non-canonical IPv4 host")
        ip = parse_ip(host)
        if ip is not None and not self._guard.allows(ip):
            raise FetchError(FetchErrorKind.BLOCKED_ADDRESS, f"address not allowed: {host}")

    @asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        slot = self._host_slots.get(host)
        if slot is None:
            slot = asyncio.Semaphore(self._limits.per_host_concurrency)
            self._host_slots[host] = slot
        async with slot:
            yield

    async def _request(
        self, url: URL, headers: dict[str, str], budget: float
    ) -> FetchResult | tuple[URL, bool]:
        """One hop: the final result, or the URL to go to next and whether the redirect
        there was permanent."""
        host = _host(url)
        if budget <= 0:
            raise FetchError(FetchErrorKind.TIMEOUT, f"timed out fetching {host}")
        session = self._get_session()
        try:
            # asyncio.timeout backs up ClientTimeout so the budget also
            # covers our own reading loop, whatever aiohttp version runs.
            async with (
                asyncio.timeout(budget),
                session.get(
                    url,
                    headers=headers,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=budget),
                ) as resp,
            ):
                return await self._handle(url, resp)
        except FetchError:
            raise
        # The original exceptions are dropped (`from None`): several of
        # aiohttp's messages quote the full request URL.
        except TimeoutError:
            raise FetchError(FetchErrorKind.TIMEOUT, f"timed out fetching {host}") from None
        except aiohttp.ClientConnectorError as exc:
            raise _connector_error(exc, host) from None
        except aiohttp.InvalidURL:
            raise FetchError(FetchErrorKind.INVALID_URL, f"invalid URL for {host}") from None
        except aiohttp.ClientPayloadError:
            raise FetchError(FetchErrorKind.CONNECTION, f"broken body from {host}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise FetchError(
                FetchErrorKind.CONNECTION, f"{type(exc).__name__} fetching {host}"
            ) from None

    async def _handle(
        self, url: URL, resp: aiohttp.ClientResponse
    ) -> FetchResult | tuple[URL, bool]:
        host = _host(url)
        headers = _lower_headers(resp)
        if headers.get("cf-mitigated", "").lower() == "challenge":
            raise _anti_bot(host, resp.status)
        if resp.status in _REDIRECT_STATUSES:
            return _redirect_target(url, headers), resp.status in _PERMANENT_REDIRECTS
        if resp.status == 304:
            return FetchResult(url=str(url), status=304, body=b"", headers=headers)
        if not 200 <= resp.status < 300:
            raise await _status_error(resp, headers, host)
        body = await _read_capped(resp, self._limits.max_body_bytes, host)
        if _is_challenge_page(headers, body):
            raise _anti_bot(host, resp.status)
        return FetchResult(url=str(url), status=resp.status, body=body, headers=headers)


def _parse_url(raw: str) -> URL:
    try:
        url = URL(raw)
    except (ValueError, TypeError):
        raise FetchError(FetchErrorKind.INVALID_URL, "malformed URL") from None
    _check_scheme_and_host(url)
    return url


def _check_scheme_and_host(url: URL) -> None:
    if url.scheme not in ("http", "https"):
        raise FetchError(FetchErrorKind.INVALID_URL, "only http and https URLs can be fetched")
    if not url.host:
        raise FetchError(FetchErrorKind.INVALID_URL, "URL has no host")


def _host(url: URL) -> str:
    return (url.host or "").lower()


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _lower_headers(resp: aiohttp.ClientResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in resp.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _connector_error(exc: aiohttp.ClientConnectorError, host: str) -> FetchError:
    if isinstance(exc.os_error, BlockedAddressError):
        return FetchError(FetchErrorKind.BLOCKED_ADDRESS, f"address not allowed for {host}")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return FetchError(FetchErrorKind.CONNECTION, f"cannot resolve {host}")
    return FetchError(FetchErrorKind.CONNECTION, f"cannot connect to {host}")


def _anti_bot(host: str, status: int) -> FetchError:
    return FetchError(FetchErrorKind.ANTI_BOT, f"bot challenge from {host}", status=status)


def _redirect_target(url: URL, headers: dict[str, str]) -> URL:
    location = headers.get("location")
    if not location:
        raise FetchError(FetchErrorKind.HTTP_STATUS, f"redirect without Location from {_host(url)}")
    try:
        target = url.join(URL(location))
    except (ValueError, TypeError):
        raise FetchError(FetchErrorKind.INVALID_URL, f"bad redirect from {_host(url)}") from None
    _check_scheme_and_host(target)
    return target


async def _status_error(
    resp: aiohttp.ClientResponse, headers: dict[str, str], host: str
) -> FetchError:
    status = resp.status
    retry_after = None
    if status in _RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(headers.get("retry-after"), now=datetime.now(UTC))
    kind = FetchErrorKind.HTTP_STATUS
    if status in _CHALLENGE_STATUSES and _has_marker(await _sniff(resp), _ERROR_PAGE_MARKERS):
        kind = FetchErrorKind.ANTI_BOT
    return FetchError(kind, f"HTTP {status} from {host}", status=status, retry_after=retry_after)


async def _sniff(resp: aiohttp.ClientResponse) -> bytes:
    """The start of an error page, or as much of it as arrives intact."""
    sample = b""
    try:
        while len(sample) < _SNIFF_BYTES:
            chunk = await resp.content.read(_SNIFF_BYTES - len(sample))
            if not chunk:
                break
            sample += chunk
    except (aiohttp.ClientError, OSError):
        pass
    return sample


async def _read_capped(resp: aiohttp.ClientResponse, cap: int, host: str) -> bytes:
    """The decompressed body, refused as soon as it grows past `cap`.

    aiohttp inflates lazily and in bounded pieces, so counting the chunks
    we receive stops a decompression bomb after about `cap` bytes.
    """
    too_large = FetchError(FetchErrorKind.TOO_LARGE, f"response from {host} is over {cap} bytes")
    if resp.content_length is not None and resp.content_length > cap:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_CHUNK_SIZE):
        size += len(chunk)
        if size > cap:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _has_marker(sample: bytes, markers: tuple[bytes, ...]) -> bool:
    lowered = sample[:_SNIFF_BYTES].lower()
    return any(marker in lowered for marker in markers)


def _is_challenge_page(headers: dict[str, str], body: bytes) -> bool:
    if "html" not in headers.get("content-type", "").lower():
        return False
    sample = body[:_SNIFF_BYTES].lower()
    if any(marker in sample for marker in _FEED_MARKERS):
        return False
    return _has_marker(sample, _CHALLENGE_MARKERS)
