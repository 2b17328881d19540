"""Keep the bot token out of every log line (ARCHITECTURE rule 8).

HTTP client loggers print request URLs, and Bot API URLs carry the token, as
can exception messages. A filter on the root handlers rewrites any record
that contains a secret; quieting httpx alone would miss the exceptions.
"""

from __future__ import annotations

import logging
import re

_TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")
REDACTED = "<redacted>"


class SecretFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
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
