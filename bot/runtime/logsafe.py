"""Keep secrets out of every log line (ARCHITECTURE rule 8): the bot token, the
webhook secret and a database password.

HTTP client loggers print request URLs, and Bot API URLs carry the token, as
can exception messages. A filter on the root handlers rewrites any record
that contains a secret; quieting httpx alone would miss the exceptions. The
JSON formatter (bot.runtime.logformat) redacts with the same filter.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

from bot.runtime.settings import Settings

_TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")
# user:password@ in any URL (a database URL in a driver's error, say), whatever the password.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@")
REDACTED = "<redacted>"
# Shorter secrets are not replaced wherever they occur (that would garble every line);
# a password that short still goes where it sits in a URL.
_MIN_SECRET = 4


def secrets_of(settings: Settings) -> list[str]:
    """What must never be logged: the token, the webhook secret, the database password
    (as written in the URL and decoded)."""
    password = settings.db_password
    found = [settings.telegram_bot_token, settings.webhook_secret, password]
    if password:
        found.append(unquote(password))
    return [s for s in found if s]


class SecretFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
        return _TOKEN_SHAPE.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            cleaned_exc = self.redact(formatted)
            if cleaned_exc != formatted:
                record.exc_text = cleaned_exc
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install(secrets: list[str]) -> SecretFilter:
    """Attach the filter to every root handler (and quiet URL-logging clients)."""
    secret_filter = SecretFilter(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(secret_filter)
    for name in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Its one message, a traceback for a body that is not JSON (a server that is no
    # Bot API), is raised to us as a TelegramError too, and reported in our words.
    logging.getLogger("telegram.request.BaseRequest").setLevel(logging.CRITICAL)
    return secret_filter
