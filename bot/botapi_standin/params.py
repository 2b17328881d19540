"""Reading Bot API method parameters the way the Bot API server does.

A method's parameters may come as a query string, an
application/x-www-form-urlencoded or multipart/form-data body, or a JSON
object. python-telegram-bot 22 always POSTs a form: every value is a string,
non-strings JSON-encoded (chat_id "123", disable_notification "true",
reply_markup '{"inline_keyboard": ...}'), and uploads make it multipart.
`read_params` folds all of these into one dict with decoded values.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

JsonDict = dict[str, Any]

_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "commands",
        "scope",
        "allowed_updates",
        "media",
        "permissions",
        "results",
        "button",
    }
)
_INT_FIELDS = frozenset(
    {
        "message_id",
        "user_id",
        "offset",
        "limit",
        "reply_to_message_id",
        "cache_time",
        "message_thread_id",
        "max_connections",
    }
)
_FLOAT_FIELDS = frozenset({"timeout"})
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "show_caption_above_media",
        "is_personal",
    }
)


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description, optional parameters."""

    def __init__(self, status: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


def _decode(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None
    if name in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None
    if name in _FLOAT_FIELDS:
        try:
            return float(value)
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None
    if name in _BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    if name == "chat_id":
        try:
            return int(value)
        except ValueError:
            return value  # "@channelusername": left for the method to refuse
    return value


def _describe_upload(part: web.FileField) -> JsonDict:
    handle = part.file
    handle.seek(0, 2)
    size = handle.tell()
    handle.seek(0)
    return {"upload": part.name, "file_name": part.filename, "size": size}


async def read_params(request: web.Request) -> JsonDict:
    """All parameters of one call, decoded; uploads become {"upload", "file_name", "size"}."""
    raw: JsonDict = dict(request.query)
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise bad_request("JSON request body must be an object")
            raw.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                raw[key] = _describe_upload(value) if isinstance(value, web.FileField) else value
    return {name: _decode(name, value) for name, value in raw.items()}


def get_int(params: JsonDict, name: str, *, missing: str | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if missing is not None:
            raise bad_request(missing)
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise bad_request(f"invalid {name} specified")
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"invalid {name} specified") from None


def get_str(params: JsonDict, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def get_bool(params: JsonDict, name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)
