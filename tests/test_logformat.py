"""Logs an operator can use: NEWSBOT_LOG_FORMAT=json writes one parsable object per line,
with context from extra=, and neither format ever carries the token, the webhook secret or
the database password."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.runtime import logformat, logsafe
from bot.runtime.settings import Settings, SettingsError, load_settings
from tests.support.cli_run import run_newsbot
from tests.support.feed_server import FeedServer, Route

TOKEN = "7350123456:AAFh3-tEstT0ken_NotReal_0123456789"
WEBHOOK_SECRET = "hook-Secret_0123456789"
PASSWORD = "p@ss:w/rd-9"
DB_URL = "postgresql://newsbot:p%40ss%3Aw%2Frd-9@db.example.vn:5432/newsbot"


def secret_settings(log_format: str) -> Settings:
    return load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "NEWSBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "NEWSBOT_DB": DB_URL,
            "NEWSBOT_LOG_FORMAT": log_format,
            "NEWSBOT_LOG_LEVEL": "DEBUG",
        },
        env_file=None,
    )


@pytest.fixture
def root_logging() -> Iterator[None]:
    """configure() replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quieted = ("httpx", "httpcore", "aiohttp.access", "telegram.request.BaseRequest")
    levels = {name: logging.getLogger(name).level for name in quieted}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
        for added in [f for f in handler.filters if isinstance(f, logsafe.SecretFilter)]:
            handler.removeFilter(added)
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def log_everything(log: logging.Logger) -> None:
    """Records with every secret in every place a record can carry one."""
    log.info("plain line", extra={"feed_id": 12, "chat_id": -100123, "outbox_id": 7})
    log.warning("GET https://api.telegram.org/bot%s/getMe failed", TOKEN)
    log.info("connecting to %s", DB_URL, extra={"dsn": DB_URL, "nested": {"url": DB_URL}})
    log.info("the secret is %s", WEBHOOK_SECRET, extra={"header": WEBHOOK_SECRET})
    try:
        raise RuntimeError(f"password authentication failed: {PASSWORD} for {DB_URL}")
    except RuntimeError:
        log.exception("database unreachable", extra={"feed_id": 3})


def assert_no_secret(text: str) -> None:
    for secret in (TOKEN, WEBHOOK_SECRET, PASSWORD, "p%40ss%3Aw%2Frd-9"):
        assert secret not in text


def test_json_lines_parse_and_carry_level_logger_message_and_context(
    root_logging: None,
) -> None:
    out = io.StringIO()
    logformat.configure(secret_settings("json"), stream=out)

    log_everything(logging.getLogger("bot.ingest.poller"))

    lines = out.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 5
    first = records[0]
    assert list(first)[:4] == ["time", "level", "logger", "message"]
    assert first["level"] == "INFO" and first["logger"] == "bot.ingest.poller"
    assert first["message"] == "plain line"
    assert (first["feed_id"], first["chat_id"], first["outbox_id"]) == (12, -100123, 7)
    assert first["time"].endswith("Z")
    assert datetime.fromisoformat(first["time"].replace("Z", "+00:00")).utcoffset() is not None
    assert records[1]["level"] == "WARNING"
    assert records[1]["message"] == "GET https://api.telegram.org/bot<redacted>/getMe failed"
    assert records[2]["dsn"] == "postgresql://newsbot:<redacted>@db.example.vn:5432/newsbot"
    assert records[2]["nested"] == {"url": records[2]["dsn"]}
    assert records[3]["header"] == "<redacted>"
    failure = records[4]
    assert failure["level"] == "ERROR" and failure["feed_id"] == 3
    assert failure["exc"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: password authentication failed: <redacted>" in failure["exc"]
    assert "exc_info" not in failure and "args" not in failure
    assert_no_secret(out.getvalue())


def test_text_format_is_the_human_line_and_is_redacted_too(root_logging: None) -> None:
    out = io.StringIO()
    logformat.configure(secret_settings("text"), stream=out)

    log_everything(logging.getLogger("bot.delivery.sender"))

    lines = out.getvalue().splitlines()
    assert " INFO bot.delivery.sender: plain line" in lines[0]
    assert logformat.TEXT_FORMAT == "%(asctime)s %(levelname)s %(name)s: %(message)s"
    assert any(line.startswith("Traceback") for line in lines)
    assert_no_secret(out.getvalue())


def test_secrets_of_settings_and_short_passwords() -> None:
    settings = secret_settings("json")

    assert set(logsafe.secrets_of(settings)) == {
        TOKEN,
        WEBHOOK_SECRET,
        "p%40ss%3Aw%2Frd-9",
        PASSWORD,
    }
    short = load_settings({"NEWSBOT_DB": "postgresql://u:pw@h/db"}, env_file=None)
    redact = logsafe.SecretFilter(logsafe.secrets_of(short)).redact
    # Two letters are not replaced everywhere (that would garble every line) but the
    # password is still taken out of the URL.
    assert redact("pwned at postgresql://u:pw@h/db") == "pwned at postgresql://u:<redacted>@h/db"
    assert load_settings({}, env_file=None).db_password is None


def test_log_format_setting() -> None:
    assert load_settings({}, env_file=None).log_format == "text"
    assert load_settings({"NEWSBOT_LOG_FORMAT": "JSON"}, env_file=None).log_format == "json"
    with pytest.raises(SettingsError, match=r"^NEWSBOT_LOG_FORMAT: expected text or json"):
        load_settings({"NEWSBOT_LOG_FORMAT": "xml"}, env_file=None)


async def test_the_command_logs_json_lines(tmp_path: Path, server: FeedServer) -> None:
    server.set("/broken", Route(status=503))
    (tmp_path / "feeds.toml").write_text(
        f"""
[[topics]]
slug = "thoi-su"
name_vi = "Thời sự"

[[feeds]]
url = "{server.url("/broken")}"
topics = ["thoi-su"]
""",
        encoding="utf-8",
    )

    result = await run_newsbot(
        tmp_path,
        "poll",
        "--once",
        env={
            "NEWSBOT_LOG_FORMAT": "json",
            "NEWSBOT_LOG_LEVEL": "INFO",
            "TELEGRAM_BOT_TOKEN": TOKEN,
        },
    )

    assert result.code == 0, result.err
    records = [json.loads(line) for line in result.err.splitlines()]
    assert records, "the failing poll is logged"
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["logger"].startswith("bot.ingest") for r in records)
    assert_no_secret(result.err)
