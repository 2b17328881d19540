"""Prometheus metrics: the running bot polls a loopback feed and sends through the stand-in,
then /metrics is scraped over HTTP and parsed with prometheus_client's own parser."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from telegram.error import NetworkError

from bot.botapi_standin import BotApiStandIn
from bot.delivery.api_health import BotApiHealth
from bot.delivery.ratelimit import Priority, TelegramRateLimiter
from bot.delivery.telegram_http import AiohttpRequest, answer_class
from bot.ingest.poller import FeedPollReport
from bot.runtime.app import METRICS_KEY
from bot.runtime.metrics import Metrics, State, read_state
from bot.runtime.probes import MonitoringServer, serving
from storage.sqlite import SqliteDatabase
from tests.support.bot_world import BotWorld, open_world
from tests.support.clock import ManualClock
from tests.support.feed_server import Route
from tests.support.rss import Item

READER = 4242
OTHER = 4343
DASHBOARD = Path(__file__).resolve().parents[1] / "docs" / "grafana-dashboard.json"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    assert key in samples, f"no sample {name}{labels}; have {sorted(k for k, _ in samples)}"
    return samples[key]


async def scrape(server: MonitoringServer) -> Samples:
    url = f"http://127.0.0.1:{server.port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(await response.text())


def item(n: int, world: BotWorld) -> Item:
    link = f"https://bao.example.vn/kinh-te/bai-{n}.html"
    return Item(
        title=f"Giá vàng hôm nay tăng lần thứ {n}",
        link=link,
        guid=link,
        description=f"<p>Bài số {n}. Câu thứ hai của bài.</p>",
        published=world.clock.now - timedelta(minutes=10 * n),
    )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[BotWorld]:
    async with open_world(tmp_path) as running_world:
        # The world polls with its own Poller; the application's Metrics counts it too.
        running_world.poller.metrics = running_world.app.bot_data[METRICS_KEY]
        yield running_world


async def test_a_poll_and_an_alert_are_counted_and_scraped_over_http(world: BotWorld) -> None:
    await world.db.subscribers.ensure_subscriber(READER, now=world.clock.ts)
    await world.db.subscribers.subscribe_topic(READER, "kinh-te", now=world.clock.ts)
    old = [item(n, world) for n in range(1, 4)]
    await world.add_feed("/kinh-te.rss", ["kinh-te"], old)

    async with serving(world.app, "127.0.0.1", 0) as server:
        before = await scrape(server)
        assert value(before, "newsbot_messages_sent_total", kind="alert") == 0
        assert value(before, "newsbot_polls_total", outcome="new", cause="none") == 0

        assert (await world.poll()).new_articles == 3  # first poll: stored, no alerts
        world.clock.advance(hours=1)
        world.set_items("/kinh-te.rss", [item(0, world), *old])
        assert (await world.poll()).alerts_queued == 1
        await world.outbox_settled()
        assert [m.method for m in world.sent_to(READER)] == ["sendMessage"]

        after = await scrape(server)

    assert value(after, "newsbot_messages_sent_total", kind="alert") == 1
    for kind in ("digest", "broadcast", "status"):
        assert value(after, "newsbot_messages_sent_total", kind=kind) == 0
    assert value(after, "newsbot_polls_total", outcome="new", cause="none") == 2
    assert value(after, "newsbot_articles_stored_total") == 4
    assert value(after, "newsbot_poll_duration_seconds_count") == 2
    assert value(after, "newsbot_parse_duration_seconds_count") == 2
    assert 0 < value(after, "newsbot_parse_duration_seconds_sum") < 5
    for kind in ("reply", "alert", "digest", "broadcast"):
        assert value(after, "newsbot_outbox_backlog_messages", kind=kind) == 0
        assert value(after, "newsbot_outbox_oldest_pending_age_seconds", kind=kind) == 0
    assert value(after, "newsbot_feeds", state="healthy") == 1
    assert value(after, "newsbot_feeds", state="failing") == 0
    assert value(after, "newsbot_feeds", state="paused") == 0
    assert value(after, "newsbot_readers_active", mode="instant") == 1
    assert value(after, "newsbot_readers_active", mode="digest") == 0
    assert value(after, "newsbot_database_up") == 1
    # getMe, setMyCommands, getUpdates and the alert: every answer was an ok one.
    assert value(after, "newsbot_telegram_responses_total", **{"class": "ok"}) >= 4
    assert value(after, "newsbot_telegram_responses_total", **{"class": "network"}) == 0
    assert 0 < value(after, "newsbot_rate_budget_in_use_ratio") <= 1
    assert value(after, "newsbot_rate_limiter_flood_wait_seconds") == 0
    assert 0 <= value(after, "newsbot_bot_api_last_answer_age_seconds") < 30
    assert value(after, "process_resident_memory_bytes") > 0


async def test_failed_polls_carry_their_typed_cause(world: BotWorld) -> None:
    feed_id = await world.add_feed("/mat.rss", ["kinh-te"], [item(1, world)])
    world.feeds.set("/mat.rss", Route(status=503, body=b"bao tri"))
    report = await world.poll()
    assert [f.error_kind for f in report.feeds] == ["http_status"]
    async with serving(world.app, "127.0.0.1", 0) as server:
        samples = await scrape(server)
    assert value(samples, "newsbot_polls_total", outcome="failed", cause="http_status") == 1
    assert value(samples, "newsbot_feeds", state="failing") == 1
    assert value(samples, "newsbot_feeds", state="healthy") == 0
    assert value(samples, "newsbot_articles_stored_total") == 0
    assert (await world.db.feeds.get_feed(feed_id)) is not None


async def test_pending_rows_and_replies_and_update_latency(world: BotWorld) -> None:
    metrics: Metrics = world.app.bot_data[METRICS_KEY]
    await world.db.subscribers.ensure_subscriber(OTHER, now=world.clock.ts)
    # A digest for later: pending, but not due yet.
    await world.db.outbox.enqueue(
        chat_id=OTHER, kind="digest", priority=Priority.DIGEST, dedup_key="later",
        payload={"text": "Bản tin sáng"}, now=world.clock.ts + 3600,
    )  # fmt: skip
    await world.say(READER, "/help")  # one update, and the barrier's /help: two
    async with serving(world.app, "127.0.0.1", 0) as server:
        samples = await scrape(server)
    assert value(samples, "newsbot_outbox_backlog_messages", kind="digest") == 1
    assert value(samples, "newsbot_outbox_oldest_pending_age_seconds", kind="digest") == 0
    assert value(samples, "newsbot_messages_sent_total", kind="reply") == 2
    assert value(samples, "newsbot_update_handling_seconds_count") == 2
    assert value(samples, "newsbot_readers_active", mode="instant") == 1  # /help makes none
    assert metrics.registry is not Metrics().registry  # one registry per bot


async def test_oldest_pending_age_counts_from_when_a_row_came_due(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    now = clock.ts
    for key, due in (("a", now - 300), ("b", now - 60), ("c", now + 600)):
        await db.outbox.enqueue(
            chat_id=1, kind="alert", priority=Priority.ALERT, dedup_key=key,
            payload={"text": key}, now=due,
        )  # fmt: skip
    await db.outbox.enqueue(
        chat_id=1, kind="broadcast", priority=Priority.BROADCAST, dedup_key="later",
        payload={"text": "x"}, now=now + 60,
    )  # fmt: skip
    assert await db.outbox.backlog(now=now) == {"alert": (3, now - 300), "broadcast": (1, None)}

    state = await read_state(db, None, None, now=now)
    assert state.database_up
    assert state.backlog == {"reply": 0, "alert": 3, "digest": 0, "broadcast": 1}
    assert state.oldest_due_age["alert"] == 300
    assert state.oldest_due_age["broadcast"] == 0

    [claimed, *_] = await db.outbox.claim_due(now=now, limit=1)
    assert claimed.dedup_key == "a"  # being sent: no longer waiting
    assert await db.outbox.backlog(now=now) == {"alert": (2, now - 60), "broadcast": (1, None)}


async def test_a_database_that_does_not_answer_leaves_its_series_out(
    db: SqliteDatabase, clock: ManualClock
) -> None:
    metrics = Metrics(process=False)
    await db.close()
    state = await read_state(db, TelegramRateLimiter(), BotApiHealth(), now=clock.ts)
    assert not state.database_up
    metrics.set_state(state)
    samples = parse(metrics.render().decode())
    assert value(samples, "newsbot_database_up") == 0
    assert value(samples, "newsbot_rate_limiter_flood_wait_seconds") == 0
    assert not [name for name, _ in samples if name.startswith("newsbot_outbox_")]


def test_every_answer_class_telegram_gives() -> None:
    def body(description: str, **parameters: int) -> bytes:
        answer: dict[str, object] = {"ok": False, "description": description}
        if parameters:
            answer["parameters"] = parameters
        return json.dumps(answer).encode()

    assert answer_class(200, b'{"ok":true}') == ("ok", None)
    too_many = body("Too Many Requests: retry after 7", retry_after=7)
    assert answer_class(429, too_many) == ("retry_after", 7.0)
    assert answer_class(403, body("Forbidden: bot was blocked by the user")) == ("blocked", None)
    kicked = body("Forbidden: bot was kicked from the group chat")
    assert answer_class(403, kicked) == ("chat_gone", None)
    assert answer_class(400, body("Bad Request: chat not found")) == ("chat_gone", None)
    entities = body("Bad Request: can't parse entities")
    assert answer_class(400, entities) == ("bad_request", None)
    assert answer_class(502, b"<html>Bad Gateway</html>") == ("server_error", None)
    assert answer_class(400, b"not json") == ("bad_request", None)


async def test_the_http_layer_counts_what_the_stand_in_answers() -> None:
    metrics = Metrics(process=False)
    request = AiohttpRequest(metrics=metrics)
    await request.initialize()
    try:
        async with BotApiStandIn() as standin:
            standin.set_chat(OTHER, "private")
            standin.block(OTHER)
            url = f"{standin.base_url}{standin.token}/sendMessage"

            async def send(chat_id: int) -> int:
                status, _ = await request.do_request(
                    f"{url}?chat_id={chat_id}&text=Ch%C3%A0o", "POST"
                )
                return status

            assert await send(READER) == 200
            assert await send(OTHER) == 403
            standin.fail_next("sendMessage", status=429, retry_after=7)
            assert await send(READER) == 429
            standin.fail_next("sendMessage", status=500)
            assert await send(READER) == 500
            standin.chat_not_found(777)
            assert await send(777) == 400
        # The stand-in is gone: no answer at all (on the pooled connection, a hang-up).
        with pytest.raises(NetworkError):
            await send(READER)
    finally:
        await request.shutdown()
    samples = parse(metrics.render().decode())
    counted = {
        cls: value(samples, "newsbot_telegram_responses_total", **{"class": cls})
        for cls in ("ok", "blocked", "retry_after", "server_error", "chat_gone", "network")
    }
    assert counted == {cls: 1 for cls in counted}
    assert value(samples, "newsbot_telegram_responses_total", **{"class": "bad_request"}) == 0
    assert value(samples, "newsbot_telegram_retry_after_seconds_count") == 1
    assert value(samples, "newsbot_telegram_retry_after_seconds_sum") == 7
    assert value(samples, "newsbot_telegram_retry_after_seconds_bucket", le="10.0") == 1
    assert value(samples, "newsbot_telegram_retry_after_seconds_bucket", le="5.0") == 0


def test_poll_reports_become_outcomes_and_causes() -> None:
    metrics = Metrics(process=False)
    metrics.poll_done(FeedPollReport(1, "u", "not_modified"), 0.01)
    metrics.poll_done(FeedPollReport(1, "u", "failed", error_kind="timeout"), 20.0)
    metrics.poll_done(FeedPollReport(1, "u", "error", error="OperationalError"), 0.2)
    metrics.poll_done(FeedPollReport(1, "u", "new", new_articles=5), 0.5)
    samples = parse(metrics.render().decode())
    assert value(samples, "newsbot_polls_total", outcome="not_modified", cause="none") == 1
    assert value(samples, "newsbot_polls_total", outcome="failed", cause="timeout") == 1
    assert value(samples, "newsbot_polls_total", outcome="error", cause="OperationalError") == 1
    assert value(samples, "newsbot_polls_total", outcome="unchanged", cause="none") == 0
    assert value(samples, "newsbot_articles_stored_total") == 5
    assert value(samples, "newsbot_poll_duration_seconds_bucket", le="0.05") == 1
    assert value(samples, "newsbot_poll_duration_seconds_bucket", le="+Inf") == 4
    assert value(samples, "newsbot_poll_duration_seconds_sum") == pytest.approx(20.71)


async def test_the_rate_budget_in_use_and_the_flood_wait() -> None:
    now = [100.0]

    async def sleep(seconds: float) -> None:  # virtual time: a sleep moves the clock
        now[0] += seconds
        await asyncio.sleep(0)

    limiter = TelegramRateLimiter(
        per_second=10, chat_interval=0.0, clock=lambda: now[0], sleep=sleep
    )
    for chat in range(5):
        await limiter.acquire(Priority.ALERT, chat)
    assert limiter.budget_in_use() == pytest.approx(0.5)
    now[0] += 2.0
    assert limiter.budget_in_use() == 0
    limiter.pause(40)
    assert limiter.flood_wait() == pytest.approx(40)
    now[0] += 15
    assert limiter.flood_wait() == pytest.approx(25)
    await limiter.shutdown()


def test_the_grafana_dashboard_asks_only_for_series_the_bot_exposes(clock: ManualClock) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert {json.dumps(p["datasource"]) for p in panels} == {
        json.dumps({"type": "prometheus", "uid": "${DS_PROMETHEUS}"})
    }
    metrics = Metrics()
    metrics.set_state(State(True, {"alert": 0}, {"alert": 0.0}, {"healthy": 1}, {"instant": 1},
                            bot_api_silence=1.0))  # fmt: skip
    metrics.telegram_answered("retry_after", 3.0)
    metrics.update_handled(0.1)
    exposed = {name for name, _ in parse(metrics.render().decode())}
    asked = {
        name
        for panel in panels
        for target in panel["targets"]
        for name in re.findall(r"\b((?:newsbot|process)_[a-z_]+)\b", target["expr"])
    }
    assert asked and asked <= exposed, asked - exposed
    titles = " ".join(p["title"].lower() for p in panels)
    for subject in ("backlog", "send rate", "answers", "polls", "duration", "sources", "readers",
                    "update"):  # fmt: skip
        assert subject in titles
