"""Settings from the environment (and a .env file). Every setting is listed in .env.example.

A bad value stops start-up with one line naming the setting: SettingsError.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

import storage
from bot.text.i18n import LANGUAGES

DEFAULT_API_BASE_URL = "https://api.telegram.org"


class SettingsError(ValueError):
    """One setting is wrong; the message names it and says what is expected."""


@dataclass(frozen=True, slots=True)
class Settings:
    telegram_bot_token: str | None
    telegram_api_base_url: str
    admin_ids: frozenset[int]
    db_path: Path
    feeds_path: Path
    poll_interval: float
    default_timezone: str
    default_language: str
    allow_private_feeds: bool
    fetch_timeout: float
    fetch_max_bytes: int
    fetch_concurrency: int
    log_level: str
    send_rate: float
    paid_broadcast: bool
    webhook_url: str | None
    webhook_listen: tuple[str, int]
    webhook_secret: str | None
    # NEWSBOT_DB as written: a file path, or a postgresql:// URL (db_path, a Path,
    # would fold the URL's "//").
    db_location: str = "newsbot.db"
    log_format: str = "text"
    backup_dir: Path | None = None
    backup_keep: int = 4
    # NEWSBOT_METRICS_LISTEN: where /metrics, /healthz and /readyz are served; None: off.
    metrics_listen: tuple[str, int] | None = None

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)

    @property
    def uses_postgres(self) -> bool:
        return storage.is_database_url(self.db_location)

    @property
    def db_password(self) -> str | None:
        """The password in a database URL (None for a file), to keep out of logs."""
        if not self.uses_postgres:
            return None
        try:
            password = urlsplit(self.db_location).password
        except ValueError:
            return None
        return password or None


def load_settings(
    environ: Mapping[str, str] | None = None, *, env_file: str | Path | None = ".env"
) -> Settings:
    """Read settings: the real environment wins over the .env file."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return _parse(values)


def _parse(env: Mapping[str, str]) -> Settings:
    def get(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    token = get("TELEGRAM_BOT_TOKEN") or None
    if token is not None and (":" not in token or any(c.isspace() for c in token)):
        raise SettingsError("TELEGRAM_BOT_TOKEN: expected a token like 123456:ABC… from @BotFather")
    paid = _flag("NEWSBOT_PAID_BROADCAST", get("NEWSBOT_PAID_BROADCAST"))
    api_base_url = _url(
        "TELEGRAM_API_BASE_URL", get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL
    )
    return Settings(
        telegram_bot_token=token,
        telegram_api_base_url=api_base_url,
        admin_ids=_admin_ids(get("ADMIN_IDS")),
        db_path=Path(get("NEWSBOT_DB") or "newsbot.db"),
        feeds_path=Path(get("NEWSBOT_FEEDS") or "feeds.toml"),
        poll_interval=_number(
            "NEWSBOT_POLL_INTERVAL", get("NEWSBOT_POLL_INTERVAL") or "600", 60, 21600
        ),
        default_timezone=_timezone(get("NEWSBOT_TIMEZONE") or "Asia/Ho_Chi_Minh"),
        default_language=_language(get("NEWSBOT_LANGUAGE") or "vi"),
        allow_private_feeds=_flag(
            "NEWSBOT_ALLOW_PRIVATE_FEEDS", get("NEWSBOT_ALLOW_PRIVATE_FEEDS")
        ),
        fetch_timeout=_number(
            "NEWSBOT_FETCH_TIMEOUT", get("NEWSBOT_FETCH_TIMEOUT") or "20", 1, 300
        ),
        fetch_max_bytes=int(
            _number(
                "NEWSBOT_FETCH_MAX_BYTES",
                get("NEWSBOT_FETCH_MAX_BYTES") or "5242880",
                1024,
                1 << 30,
            )
        ),
        fetch_concurrency=int(
            _number("NEWSBOT_FETCH_CONCURRENCY", get("NEWSBOT_FETCH_CONCURRENCY") or "50", 1, 1000)
        ),
        log_level=_log_level(get("NEWSBOT_LOG_LEVEL") or "INFO"),
        send_rate=_send_rate(get("NEWSBOT_SEND_RATE") or "30", paid, api_base_url),
        paid_broadcast=paid,
        webhook_url=_webhook_url(get("NEWSBOT_WEBHOOK_URL")),
        webhook_listen=_listen(get("NEWSBOT_WEBHOOK_LISTEN") or "127.0.0.1:8080"),
        webhook_secret=_secret(get("NEWSBOT_WEBHOOK_SECRET")),
        db_location=get("NEWSBOT_DB") or "newsbot.db",
        log_format=_log_format(get("NEWSBOT_LOG_FORMAT") or "text"),
        backup_dir=Path(get("NEWSBOT_BACKUP_DIR")) if get("NEWSBOT_BACKUP_DIR") else None,
        backup_keep=_whole("NEWSBOT_BACKUP_KEEP", get("NEWSBOT_BACKUP_KEEP") or "4", 1, 1000),
        metrics_listen=(
            _listen(get("NEWSBOT_METRICS_LISTEN"), "NEWSBOT_METRICS_LISTEN", "127.0.0.1:9464")
            if get("NEWSBOT_METRICS_LISTEN")
            else None
        ),
    )


def _url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"{name}: expected an http(s) URL such as {DEFAULT_API_BASE_URL}, got {value!r}"
        )
    return value.rstrip("/")


def _admin_ids(value: str) -> frozenset[int]:
    ids = set()
    for part in value.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise SettingsError(
                f"ADMIN_IDS: expected comma-separated Telegram user ids (numbers), got {part!r}"
            ) from None
    return frozenset(ids)


def _number(name: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {value!r}") from None
    if not low <= number <= high:
        raise SettingsError(f"{name}: expected a value from {low:g} to {high:g}, got {value}")
    return number


def _whole(name: str, value: str, low: int, high: int) -> int:
    if not value.isdigit():
        raise SettingsError(f"{name}: expected a whole number from {low} to {high}, got {value!r}")
    number = int(value)
    if not low <= number <= high:
        raise SettingsError(f"{name}: expected a whole number from {low} to {high}, got {value}")
    return number


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"NEWSBOT_TIMEZONE: unknown time zone {value!r} (try Asia/Ho_Chi_Minh)"
        ) from None
    return value


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise SettingsError(
            f"NEWSBOT_LANGUAGE: expected one of {', '.join(LANGUAGES)}, got {value!r}"
        )
    return value


def _flag(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("", "0", "false", "no", "off"):
        return False
    if lowered in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}: expected on/off (1/0, true/false), got {value!r}")


def _send_rate(value: str, paid: bool, api_base_url: str) -> float:
    """Messages per second overall; math.inf for `unlimited`, which only a Bot API
    stand-in on this machine may ask for (a load test: no budget but Telegram's 429s)."""
    if value.lower() == "unlimited":
        if not _on_loopback(api_base_url):
            raise SettingsError(
                "NEWSBOT_SEND_RATE: unlimited is only for load tests against a Bot API "
                "stand-in on this machine (TELEGRAM_API_BASE_URL on 127.0.0.1 or "
                "localhost); Telegram allows about 30 messages/s"
            )
        return math.inf
    rate = _number("NEWSBOT_SEND_RATE", value, 1, 1000)
    if rate > 30 and not paid:
        raise SettingsError(
            "NEWSBOT_SEND_RATE: Telegram allows about 30 messages/s; more needs "
            "NEWSBOT_PAID_BROADCAST=on (paid broadcasts, up to 1000/s)"
        )
    return rate


def _on_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _webhook_url(value: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise SettingsError(
            f"NEWSBOT_WEBHOOK_URL: Telegram delivers webhooks only to https:// URLs, got {value!r}"
        )
    return value


def _listen(
    value: str, name: str = "NEWSBOT_WEBHOOK_LISTEN", example: str = "127.0.0.1:8080"
) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{name}: expected host:port such as {example}, got {value!r}")
    return host.strip("[]"), int(port)


def _secret(value: str) -> str | None:
    if value and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
        raise SettingsError(
            "NEWSBOT_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)"
        )
    return value or None


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(
            f"NEWSBOT_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR, got {value!r}"
        )
    return level


def _log_format(value: str) -> str:
    lowered = value.lower()
    if lowered not in ("text", "json"):
        raise SettingsError(f"NEWSBOT_LOG_FORMAT: expected text or json, got {value!r}")
    return lowered
