"""Telegram's HTML parse mode, checked the way the Bot API server checks it.

`parse_html` turns a message written in Telegram HTML into what the user sees
(tags removed, entities decoded) and the MessageEntity list Telegram would
return, with offsets and lengths in UTF-16 code units. Anything Telegram
refuses raises `HtmlParseError` with Telegram's wording ("Unsupported start
tag "p" at byte offset 0", "Can't find end tag corresponding to start tag
"b"", ...), which the stand-in sends back as
"Bad Request: can't parse entities: <that text>".

One deliberate difference: a named entity other than &lt; &gt; &amp; &quot;
written with its semicolon ("&nbsp;", "&foo;") is refused here. Telegram
shows it literally, which is never what the sender meant, so tests should
hear about it. A bare "&" followed by no name, and a numeric reference, are
accepted as Telegram accepts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
        "tg-time",
    }
)

_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_CHAR_REF = re.compile(r"&(?:#([0-9]+)|#[xX]([0-9a-fA-F]+)|([A-Za-z][A-Za-z0-9]*))(;?)")
_PLAIN_RUN = re.compile(r"[^<&]+")


class HtmlParseError(ValueError):
    """Telegram would answer "Bad Request: can't parse entities: <message>"."""


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start: int  # UTF-16 offset in the visible text
    byte_offset: int
    extra: dict[str, Any] = field(default_factory=dict)


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8", "surrogatepass"))


def _decode_ref(source: str, index: int, *, strict: bool) -> tuple[str, int]:
    """The character(s) a '&' at index stands for, and the index after it."""
    match = _CHAR_REF.match(source, index)
    if match is None:
        return "&", index + 1
    decimal, hexadecimal, name, semicolon = match.groups()
    if name is not None:
        if name in _NAMED_ENTITIES:
            return _NAMED_ENTITIES[name], match.end()
        if strict and semicolon:
            raise HtmlParseError(
                f'Unsupported HTML entity "&{name};" at byte offset {_byte_offset(source, index)}'
            )
        return "&", index + 1
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "&", index + 1
    return chr(code), match.end()


def _unescape_attribute(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            text, i = _decode_ref(value, i, strict=False)
            out.append(text)
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _parse_start_tag(source: str, i: int) -> tuple[str, dict[str, str], int]:
    """Name, attributes and the index after '>' of the start tag at source[i] == '<'."""
    n = len(source)
    offset = _byte_offset(source, i)
    j = i + 1
    while j < n and not source[j].isspace() and source[j] != ">":
        j += 1
    if j >= n:
        raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
    name = source[i + 1 : j].lower()
    if name not in ALLOWED_TAGS:
        raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
    attrs: dict[str, str] = {}
    while True:
        while j < n and source[j].isspace():
            j += 1
        if j >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
        if source[j] == ">":
            return name, attrs, j + 1
        k = j
        while k < n and not source[k].isspace() and source[k] not in "=>":
            k += 1
        attr = source[j:k].lower()
        while k < n and source[k].isspace():
            k += 1
        if k >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
        if source[k] != "=":
            if name == "blockquote" and attr == "expandable":
                attrs[attr] = ""
                j = k
                continue
            raise HtmlParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{name}" at byte offset {offset}'
            )
        k += 1
        while k < n and source[k].isspace():
            k += 1
        if k >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
        if source[k] in "\"'":
            end = source.find(source[k], k + 1)
            if end < 0:
                raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
            value = source[k + 1 : end]
            j = end + 1
        else:
            end = k
            while end < n and not source[end].isspace() and source[end] != ">":
                end += 1
            value = source[k:end]
            j = end
        attrs[attr] = _unescape_attribute(value)


def _check_start_tag(name: str, attrs: dict[str, str]) -> None:
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise HtmlParseError('Tag "span" must have class "tg-spoiler"')
    if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
        raise HtmlParseError('Tag "tg-emoji" must have attribute "emoji-id" with a number')
    if name == "tg-time" and not attrs.get("unix", "").lstrip("-").isdigit():
        raise HtmlParseError('Tag "tg-time" must have attribute "unix" with a number')


def _entity(tag: _OpenTag, end: int) -> dict[str, Any] | None:
    length = end - tag.start
    if length <= 0:
        return None
    entity: dict[str, Any] = {"offset": tag.start, "length": length}
    name, attrs = tag.name, tag.attrs
    if name == "a":
        href = attrs.get("href", "")
        if not href:
            return None
        user = re.fullmatch(r"tg://user\?id=([0-9]+)", href)
        if user:
            entity["type"] = "text_mention"
            entity["user"] = {"id": int(user.group(1)), "is_bot": False, "first_name": ""}
        else:
            entity["type"] = "text_link"
            entity["url"] = href
    elif name == "tg-emoji":
        entity["type"] = "custom_emoji"
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif name == "tg-time":
        entity["type"] = "date_time"
        entity["unix_time"] = int(attrs["unix"])
        if attrs.get("format"):
            entity["date_time_format"] = attrs["format"]
    elif name == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in attrs else "blockquote"
    else:
        entity["type"] = _ENTITY_TYPES[name]
        if name == "pre" and tag.extra.get("language"):
            entity["language"] = tag.extra["language"]
    return entity


def parse_html(source: str, *, strict_entities: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """(visible text, entities) of a Telegram HTML message, or HtmlParseError."""
    out: list[str] = []
    pos = 0  # UTF-16 length of the visible text so far
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char == "&":
            text, i = _decode_ref(source, i, strict=strict_entities)
            out.append(text)
            pos += utf16_len(text)
        elif char != "<":
            run = _PLAIN_RUN.match(source, i)
            assert run is not None
            out.append(run.group())
            pos += utf16_len(run.group())
            i = run.end()
        elif i + 1 < n and source[i + 1] == "/":
            offset = _byte_offset(source, i)
            end = source.find(">", i)
            if end < 0:
                raise HtmlParseError(f"Unclosed end tag at byte offset {offset}")
            name = source[i + 2 : end].strip().lower()
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {offset}")
            top = stack.pop()
            if name != top.name:
                raise HtmlParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{top.name}>", '
                    f'found "</{name}>"'
                )
            parent = stack[-1] if stack else None
            if top.name == "code" and parent is not None and parent.name == "pre":
                language = top.attrs.get("class", "")
                if language.startswith("language-"):
                    parent.extra["language"] = language.removeprefix("language-")
            else:
                made = _entity(top, pos)
                if made is not None:
                    entities.append(made)
            i = end + 1
        else:
            name, attrs, after = _parse_start_tag(source, i)
            _check_start_tag(name, attrs)
            stack.append(_OpenTag(name, attrs, pos, _byte_offset(source, i)))
            i = after
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities
