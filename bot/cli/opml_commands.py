"""`newsbot feeds import FILE.opml` and `newsbot feeds export [--opml]`.

Export prints the sources being polled: as a feeds.toml (topics and feeds, ready
to keep under version control) or, with --opml, as OPML 2.0 for feed readers
and for `feeds import` on another bot. Import reads an OPML file, checks every
source, adds the good ones and prints what was added, what was skipped and why.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.admin.opml import MAX_OPML_BYTES, ImportReport, OpmlError, export_opml, import_opml
from bot.cli.commands import OperatorError
from storage import Database
from storage.rows import FeedRow, TopicRow

# Operator commands speak English, as the rest of the command line does.
LANGUAGE = "en"


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")


async def import_command(
    db: Database, path: str, *, topic: str | None, dry_run: bool, now: int
) -> int:
    data = _read(Path(path))
    try:
        report = await import_opml(db, data, topic=topic, now=now, dry_run=dry_run)
    except OpmlError as exc:
        raise OperatorError(f"{path}: {exc.text(LANGUAGE)}") from None
    for line in report_lines(report):
        _emit(line)
    return 0


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        raise OperatorError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_OPML_BYTES:
        message = OpmlError("opml.too_large", limit=MAX_OPML_BYTES // (1024 * 1024))
        raise OperatorError(f"{path}: {message.text(LANGUAGE)}")
    return data


def report_lines(report: ImportReport) -> list[str]:
    lines = []
    for added in report.added:
        spec = added.spec
        what = "site" if spec.kind == "site" else "feed"
        done = f"added {what} {added.feed_id}" if added.feed_id is not None else f"would add {what}"
        lines.append(f"{done}: {spec.url} ({spec.name}) [{', '.join(spec.topics)}]")
    for skipped in report.skipped:
        lines.append(f"skipped {skipped.source}: {skipped.text(LANGUAGE)}")
    if report.ignored_topics:
        lines.append("topics not known here were ignored: " + ", ".join(report.ignored_topics))
    counts = f"{len(report.added)} added, {len(report.skipped)} skipped"
    if report.dry_run:
        lines.append(f"dry run: {counts}; nothing was added")
    else:
        lines.append(counts)
    return lines


async def export_command(db: Database, *, as_opml: bool) -> int:
    now = datetime.now(UTC)
    if as_opml:
        export = await export_opml(db, now=now)
        sys.stdout.flush()
        sys.stdout.buffer.write(export.data)
        sys.stdout.buffer.flush()
        return 0
    topics = await db.feeds.list_topics()
    feeds = await db.feeds.list_feeds(include_disabled=False)
    sys.stdout.write(feeds_toml(topics, feeds, now=now))
    return 0


def feeds_toml(topics: Sequence[TopicRow], feeds: Sequence[FeedRow], *, now: datetime) -> str:
    """The sources as a feeds.toml that load_feeds_config reads back to the same ones."""
    lines = [f"# newsbot sources, exported {now:%Y-%m-%d %H:%M} UTC.", ""]
    for topic in topics:
        lines += [
            "[[topics]]",
            f"slug = {_string(topic.slug)}",
            f"name_vi = {_string(topic.name_vi)}",
            f"name_en = {_string(topic.name_en)}",
            f"keywords = {_strings(topic.keywords)}",
            "",
        ]
    order = {topic.slug: i for i, topic in enumerate(topics)}
    for feed in feeds:
        slugs = sorted(feed.topics, key=lambda slug: order.get(slug, len(order)))
        lines += ["[[feeds]]", f"url = {_string(feed.url)}", f"name = {_string(feed.name)}"]
        if feed.kind != "feed":
            lines.append(f"kind = {_string(feed.kind)}")
        lines.append(f"topics = {_strings(slugs)}")
        if feed.article_pattern:
            lines.append(f"article_pattern = {_string(feed.article_pattern)}")
        if feed.link_selector:
            lines.append(f"link_selector = {_string(feed.link_selector)}")
        lines.append("")
    return "\n".join(lines)


def _string(value: str) -> str:
    # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _strings(values: Sequence[str]) -> str:
    return "[" + ", ".join(_string(v) for v in values) + "]"
