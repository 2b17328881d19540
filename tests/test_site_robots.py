"""robots.txt over loopback: answers cached per site, failures read as RFC 9309 says."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.ingest.fetch import Fetcher
from bot.ingest.robots import RobotsCache, RobotsUnavailable, Verdict
from tests.support.clock import ManualClock
from tests.support.feed_server import FeedServer, Route

RULES = b"""# comments are fine
User-agent: *
Disallow: /

User-agent: newsbot
Allow: /tin-tuc/
Disallow: /tin-tuc/noi-bo/
Crawl-delay: 4
"""


@pytest.fixture
def robots(fetcher: Fetcher, clock: ManualClock) -> RobotsCache:
    return RobotsCache(fetcher, clock=clock, ttl=timedelta(hours=1))


async def test_rules_for_our_agent_apply_and_are_cached(
    robots: RobotsCache, server: FeedServer, clock: ManualClock
) -> None:
    server.set("/robots.txt", Route(body=RULES))

    assert await robots.check(server.url("/tin-tuc/bai-d12345.html")) is Verdict.ALLOWED
    assert await robots.check(server.url("/tin-tuc/noi-bo/x-d1.html")) is Verdict.DISALLOWED
    assert await robots.crawl_delay(server.url("/")) == 4.0
    assert server.hits("/robots.txt") == 1

    clock.advance(hours=2)
    server.set("/robots.txt", Route(body=b"User-agent: newsbot\nDisallow: /tin-tuc/\n"))
    assert await robots.check(server.url("/tin-tuc/bai-d12345.html")) is Verdict.DISALLOWED
    assert server.hits("/robots.txt") == 2


@pytest.mark.parametrize("status", [404, 410, 403, 401])
async def test_a_4xx_robots_txt_allows_everything(
    robots: RobotsCache, server: FeedServer, status: int
) -> None:
    server.set("/robots.txt", Route(status=status))

    assert await robots.check(server.url("/bat-ky-d1.html")) is Verdict.ALLOWED
    assert await robots.crawl_delay(server.url("/")) is None


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_an_unreachable_robots_txt_skips_the_round_and_is_asked_again(
    robots: RobotsCache, server: FeedServer, status: int
) -> None:
    server.set("/robots.txt", Route(status=status))

    with pytest.raises(RobotsUnavailable) as caught:
        await robots.check(server.url("/a-d1.html"))
    assert caught.value.error.status == status

    server.set("/robots.txt", Route(body=b"User-agent: *\nAllow: /\n"))
    assert await robots.check(server.url("/a-d1.html")) is Verdict.ALLOWED
    assert server.hits("/robots.txt") == 2


async def test_connection_refused_is_unavailable(robots: RobotsCache) -> None:
    with pytest.raises(RobotsUnavailable) as caught:
        await robots.check("http://127.0.0.1:9/a-d1.html")
    assert caught.value.error.kind == "connection"


# Each of these urllib.robotparser got wrong: it matched `*` and `$` literally, and
# applied the first matching rule where RFC 9309 wants the longest.
@pytest.mark.parametrize(
    ("rules", "path", "verdict"),
    [
        pytest.param(
            b"User-agent: newsbot\nDisallow: /*?print=\n",
            "/tin-tuc/bai-d12345.html?print=1",
            Verdict.DISALLOWED,
            id="wildcard-blocks",
        ),
        pytest.param(
            b"User-agent: newsbot\nDisallow: /*?print=\n",
            "/tin-tuc/bai-d12345.html?page=2",
            Verdict.ALLOWED,
            id="wildcard-spares-the-rest",
        ),
        pytest.param(
            b"User-agent: newsbot\nDisallow: /*.pdf$\n",
            "/tai-lieu/bao-cao.pdf",
            Verdict.DISALLOWED,
            id="end-anchor-blocks",
        ),
        pytest.param(
            b"User-agent: newsbot\nDisallow: /*.pdf$\n",
            "/tai-lieu/bao-cao.pdf.html",
            Verdict.ALLOWED,
            id="end-anchor-only-at-the-end",
        ),
        pytest.param(
            b"User-agent: newsbot\nDisallow: /tin-tuc\nAllow: /tin-tuc/bai-viet\n",
            "/tin-tuc/bai-viet-d12345.html",
            Verdict.ALLOWED,
            id="longest-allow-wins-though-last",
        ),
        pytest.param(
            b"User-agent: newsbot\nDisallow: /tin-tuc\nAllow: /tin-tuc/bai-viet\n",
            "/tin-tuc/noi-bo-d1.html",
            Verdict.DISALLOWED,
            id="shorter-disallow-still-applies",
        ),
    ],
)
async def test_rfc_9309_matching(
    robots: RobotsCache, server: FeedServer, rules: bytes, path: str, verdict: Verdict
) -> None:
    server.set("/robots.txt", Route(body=rules))

    assert await robots.check(server.url(path)) is verdict
