"""The `newsbot` command: run the service, and operator commands on the same database.

Kept light: `--help` and `--version` import nothing beyond argparse, and each command
imports only what it uses (bot.cli.commands), so `newsbot stats` never loads
python-telegram-bot, trafilatura or the console.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.runtime.app import HandlerInstaller

DISTRIBUTION = "newsbot"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="Vietnamese news to Telegram: poll feeds, store, search, push summaries.",
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="print the version of newsbot and exit"
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    subcommands.add_parser("run", help="run the service (poller)")

    preview = subcommands.add_parser(
        "preview", help="show how a feed's (or a web page's) articles would be sent"
    )
    preview.add_argument("source", help="a feed, section page or article page: file or URL")
    preview.add_argument("--json", action="store_true", help="one JSON object per entry")
    preview.add_argument("--lang", choices=("vi", "en"), default=None, help="message language")
    preview.add_argument(
        "--delay",
        type=_seconds,
        default=1.0,
        help="seconds between article pages of a section page (default 1)",
    )

    poll = subcommands.add_parser("poll", help="poll feeds")
    poll.add_argument("--once", action="store_true", required=True, help="one cycle, then exit")
    poll.add_argument("--all", action="store_true", help="poll every enabled feed, due or not")

    search = subcommands.add_parser("search", help="search stored articles")
    search.add_argument("query", nargs="+", help="words to look for (accents optional)")
    search.add_argument("--json", action="store_true", help="one JSON object per result")
    search.add_argument(
        "--limit", type=_positive_int, default=10, help="how many results (1-1000, default 10)"
    )

    feeds = subcommands.add_parser(
        "feeds", help="list, add, remove, resume, import or export feeds"
    )
    feed_commands = feeds.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    feed_list = feed_commands.add_parser("list", help="feeds and their health")
    feed_list.add_argument("--json", action="store_true", help="one JSON object per feed")
    add = feed_commands.add_parser("add", help="add a feed, or a site without one (--site)")
    add.add_argument("url", help="the feed, or with --site the section page listing articles")
    add.add_argument("--topic", action="append", required=True, help="topic slug (repeatable)")
    add.add_argument(
        "--name", default=None, help="display name (default: the name it has, else the host)"
    )
    add.add_argument("--site", action="store_true", help="URL is a section page, not a feed")
    add.add_argument("--pattern", default=None, help="regex article URLs match (with --site)")
    add.add_argument("--selector", default=None, help="CSS selector for article links (--site)")
    remove = feed_commands.add_parser("remove", help="stop polling a feed (articles are kept)")
    remove.add_argument("feed", help="feed URL or id")
    resume = feed_commands.add_parser("resume", help="unpause a feed paused for failing")
    resume.add_argument("feed", help="feed URL or id")
    feed_import = feed_commands.add_parser(
        "import", help="add the sources of an OPML file, with a report"
    )
    feed_import.add_argument("file", help="an OPML 2.0 file, at most 2 MB")
    feed_import.add_argument(
        "--topic",
        default=None,
        metavar="SLUG",
        help="put every source in this topic (topics the file names that are not known "
        "here are then ignored); without it, each source needs a known topic in the file",
    )
    feed_import.add_argument(
        "--dry-run", action="store_true", help="check the file and report; add nothing"
    )
    feed_export = feed_commands.add_parser(
        "export", help="print the sources as a feeds.toml (or OPML)"
    )
    feed_export.add_argument(
        "--opml", action="store_true", help="OPML 2.0 (for feed readers and `feeds import`)"
    )

    stats = subcommands.add_parser("stats", help="articles, feeds, readers and outbox figures")
    stats.add_argument("--json", action="store_true", help="one JSON object")

    backup = subcommands.add_parser("backup", help="copy the database, safe while the bot runs")
    backup.add_argument(
        "file", help="the copy to write, a new file (PostgreSQL: prints the pg_dump command)"
    )
    restore = subcommands.add_parser("restore", help="put a checked backup in place (bot stopped)")
    restore.add_argument("file", help="a copy made by `newsbot backup`")

    database = subcommands.add_parser("db", help="copy the whole database to another backend")
    db_commands = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    copy = db_commands.add_parser(
        "copy",
        help="copy every table from SOURCE into TARGET (SQLite to PostgreSQL, or back)",
        description="Copy a whole newsbot database, ids and search index included, with "
        "progress and the rows of every table counted on both sides at the end. Stop the "
        "bot first.",
    )
    copy.add_argument("source", help="a SQLite file's path or a postgresql:// URL")
    copy.add_argument(
        "target", help="the same kinds; created and migrated if new, and it must be empty"
    )
    copy.add_argument(
        "--force", action="store_true", help="empty a target that holds data, then copy"
    )
    return parser


class _VersionAction(argparse.Action):
    """`--version`: like argparse's own, but reads the installed version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(f"{parser.prog} {_version()}")
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "(not installed)"


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if not 1 <= number <= 1000:
        raise argparse.ArgumentTypeError("expected a number from 1 to 1000")
    return number


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {value!r}") from None
    if not 0 <= number <= 60:
        raise argparse.ArgumentTypeError("expected seconds from 0 to 60")
    return number


def main(argv: Sequence[str] | None = None, *, install_handlers: HandlerInstaller) -> int:
    """The `newsbot` command; install_handlers registers the Telegram handlers (handlers.main)."""
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        parser.print_help()
        return 0
    args = parser.parse_args(argv)

    from bot.cli import commands
    from bot.runtime import logformat
    from bot.runtime.feeds_config import FeedsConfigError
    from bot.runtime.settings import SettingsError, load_settings
    from bot.runtime.startup import StartupError
    from storage import DatabaseError

    try:
        settings = load_settings()
        logformat.configure(settings)
        return asyncio.run(commands.dispatch(args, settings, install_handlers=install_handlers))
    except (SettingsError, FeedsConfigError, StartupError, commands.OperatorError) as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    except DatabaseError as exc:
        print(f"newsbot: NEWSBOT_DB: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `newsbot preview … | head`: the reader has seen enough. Point stdout at
        # devnull so the interpreter's final flush does not complain again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
