"""A local stand-in for the Telegram Bot API, served over HTTP on loopback.

Used by end-to-end tests (a real python-telegram-bot Application talks to it),
by console mode (`newsbot run` without a token) and by the sender's
benchmarks. It answers the methods this bot uses, records what the bot sent,
lets a test inject user messages and button presses, and plays Telegram's
faults: flood limits (429 + retry_after), blocked users (403), chat not
found and migrated groups (400), bad HTML (400), 5xx and slow answers.
"""

from bot.botapi_standin.html import HtmlParseError, parse_html, utf16_len
from bot.botapi_standin.server import BotApiStandIn
from bot.botapi_standin.state import SentMessage, command_entities

__all__ = [
    "BotApiStandIn",
    "HtmlParseError",
    "SentMessage",
    "command_entities",
    "parse_html",
    "utf16_len",
]
