"""How log records are written: the human line (default) or one JSON object per line.

`NEWSBOT_LOG_FORMAT=json` is for log collectors (journald, Docker, Loki…): each
record is one line holding `time` (ISO-8601, UTC), `level`, `logger`,
`message`, whatever context the call site passed with `extra=` (`feed_id`,
`chat_id`, `outbox_id`…) and, for an exception, `exc` (the traceback as one
string). Both formats pass through the secret filter of bot.runtime.logsafe;
the JSON formatter also redacts every string it adds itself (context values,
the traceback), so a token in an `extra=` value is caught too.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

from bot.runtime import logsafe
from bot.runtime.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")

# Attributes every LogRecord has; anything else on a record came in through extra=.
_STANDARD = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line; `redact` is applied to every string."""

    def __init__(self, redact: Callable[[str], str] = lambda text: text) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _iso_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = self._value(value)
        if record.exc_info and record.exc_info[1] is not None:
            # exc_text, when set, is the secret filter's redacted rendering.
            entry["exc"] = self._redact(record.exc_text or self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = self._redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = self._redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)

    def _value(self, value: object) -> object:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, list | tuple | set | frozenset):
            return [self._value(v) for v in value]
        if isinstance(value, dict):
            return {self._redact(str(k)): self._value(v) for k, v in value.items()}
        return self._redact(str(value))


def _iso_utc(created: float) -> str:
    stamp = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def formatter(kind: str, secret_filter: logsafe.SecretFilter) -> logging.Formatter:
    if kind == "json":
        return JsonFormatter(secret_filter.redact)
    return logging.Formatter(TEXT_FORMAT)


def configure(settings: Settings, *, stream: IO[str] | None = None) -> logsafe.SecretFilter:
    """Root logging for the `newsbot` command: level, format, and the secret filter."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    secret_filter = logsafe.install(logsafe.secrets_of(settings))
    handler.setFormatter(formatter(settings.log_format, secret_filter))
    return secret_filter
