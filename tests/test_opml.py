"""Sources in and out as OPML: the parser's defences, the import's report, the round trip,
the command line (`feeds import/export`) and the admin's /import and /export in a chat."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.admin.opml import (
    MAX_NEW_SOURCES,
    MAX_OPML_BYTES,
    OpmlError,
    build_opml,
    export_opml,
    import_opml,
    read_opml,
    render_report,
)
from bot.botapi_standin import BotApiStandIn, SentMessage
from bot.botapi_standin.params import JsonDict, get_str
from bot.botapi_standin.state import StoredMessage, command_entities
from bot.runtime.feeds_config import load_feeds_config
from storage.rows import FeedRow, FeedSpec, TopicRow
from storage.sqlite import SqliteDatabase
from tests.support import bot_world
from tests.support.bot_world import BotWorld, open_world
from tests.support.cli_run import run_newsbot
from tests.support.clock import ManualClock
from tests.test_cli import _modules_loaded_by

NOW = 1_790_000_000
TOPICS = (
    TopicRow("thoi-su", "Thời sự", "News", ()),
    TopicRow("kinh-te", "Kinh tế", "Business", ("lãi suất",)),
    TopicRow("khoa-hoc-cong-nghe", "Khoa học – Công nghệ", "Science & Technology", ()),
)
SOURCES = (
    FeedSpec("https://vnexpress.net/rss/thoi-su.rss", "VnExpress – Thời sự", ("thoi-su",)),
    FeedSpec(
        "https://bao.example.vn/rss?cat=kinh-te&x=1",
        'Báo "Kinh tế" & <Đầu tư>',
        ("kinh-te", "thoi-su"),
    ),
    FeedSpec(
        "https://sohuutritue.net.vn/",
        "Tạp chí Sở hữu trí tuệ",
        ("khoa-hoc-cong-nghe",),
        kind="site",
        article_pattern=r"-d\d+\.html$",
        link_selector="h3 a",
    ),
    FeedSpec("https://site.example.vn/cong-nghe", "Chỉ trang", ("khoa-hoc-cong-nghe",), "site"),
)
FEEDS_TOML = """
[[topics]]
slug = "thoi-su"
name_vi = "Thời sự"
name_en = "News"

[[topics]]
slug = "kinh-te"
name_vi = "Kinh tế"
name_en = "Business"
keywords = ["lãi suất"]

[[topics]]
slug = "khoa-hoc-cong-nghe"
name_vi = "Khoa học – Công nghệ"
name_en = "Science & Technology"
"""


def opml(body: str, *, head: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{head}'
        f'<opml version="2.0"><head><title>t</title></head><body>{body}</body></opml>'
    ).encode()


async def open_db(path: Path) -> SqliteDatabase:
    db = await SqliteDatabase.open(path)
    await db.feeds.sync_topics(TOPICS)
    return db


@pytest.fixture
async def topics_db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    db = await open_db(tmp_path / "a.db")
    try:
        yield db
    finally:
        await db.close()


def sources(feeds: list[FeedRow]) -> set[tuple[object, ...]]:
    """What a source is, as an operator set it up: address, name, kind, rules, topics."""
    return {
        (f.url, f.name, f.kind, f.article_pattern, f.link_selector, frozenset(f.topics))
        for f in feeds
    }


# ---- the file: what is refused whole ---------------------------------------------------------


def test_malformed_xml_names_the_line() -> None:
    with pytest.raises(OpmlError) as caught:
        read_opml(b'<?xml version="1.0"?>\n<opml version="2.0">\n<body><outline text="x">\n')

    assert caught.value.key == "opml.not_xml"
    assert caught.value.values["line"] == 4
    assert "not well-formed XML (line 4" in caught.value.text("en")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<opml version="2.0"><body><outline text="&lol3;" xmlUrl="https://a.vn/rss"/></body></opml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&xxe;" xmlUrl="https://a.vn/rss"/></body></opml>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "external"])
def test_entity_declarations_are_refused(data: bytes) -> None:
    with pytest.raises(OpmlError) as caught:
        read_opml(data)

    assert caught.value.key == "opml.entities"


def test_a_doctype_without_entities_is_fine() -> None:
    data = opml('<outline text="A" xmlUrl="https://a.vn/rss"/>', head="<!DOCTYPE opml>\n")

    assert [o.url for o in read_opml(data)] == ["https://a.vn/rss"]


def test_over_two_megabytes_is_refused_unread() -> None:
    padding = '<outline text="x" xmlUrl="https://a.vn/rss"/>' * (5 * 1024 * 1024 // 45)
    data = opml(padding)
    assert len(data) > 5 * 1024 * 1024

    with pytest.raises(OpmlError) as caught:
        read_opml(data)

    assert caught.value.key == "opml.too_large"
    assert caught.value.text("en") == "The file is too large: 2 MB at most."
    assert MAX_OPML_BYTES == 2 * 1024 * 1024


@pytest.mark.parametrize(
    "data",
    [b"<rss><channel/></rss>", b"<opml version='2.0'><head/></opml>", b"<html></html>"],
)
def test_xml_that_is_not_opml(data: bytes) -> None:
    with pytest.raises(OpmlError) as caught:
        read_opml(data)

    assert caught.value.key == "opml.not_opml"


def test_deep_nesting_is_no_crash() -> None:
    data = opml(
        '<outline text="k">' * 5000 + '<outline xmlUrl="https://a.vn/rss"/>' + "</outline>" * 5000
    )

    [outline] = read_opml(data)

    assert outline.url == "https://a.vn/rss"
    assert outline.topics == ("k",)  # the folder it sits in


# ---- reading outlines ------------------------------------------------------------------------


def test_topics_come_from_category_and_the_enclosing_outline() -> None:
    data = opml(
        '<outline text="Kinh tế">'
        '  <outline text="A" xmlUrl="https://a.vn/rss"'
        '   category="/Tin tức/Thời sự, khoa-hoc-cong-nghe"/>'
        '  <outline text="Nhóm trống"/>'
        "</outline>"
        '<outline title="B only title" XMLURL="https://b.vn/rss"/>'
    )

    a, b = read_opml(data)

    assert a.name == "A" and a.topics == ("Thời sự", "khoa-hoc-cong-nghe", "Kinh tế")
    assert b.name == "B only title" and b.url == "https://b.vn/rss" and b.topics == ()


# ---- import: what is added, what is skipped and why -------------------------------------------


async def test_import_reports_each_skipped_source_and_adds_the_rest(
    topics_db: SqliteDatabase,
) -> None:
    db = topics_db
    known, _ = await db.feeds.add_feed(SOURCES[0], now=NOW)
    gone, _ = await db.feeds.add_feed(FeedSpec("https://cu.vn/rss", "Cũ", ("thoi-su",)), now=NOW)
    await db.feeds.disable_feed(str(gone))
    data = opml(
        '<outline text="Kinh tế">'
        '  <outline text="Mới" xmlUrl="https://moi.vn/rss?utm_source=x"/>'
        '  <outline text="Mới lần hai" xmlUrl="https://moi.vn/rss"/>'
        '  <outline text="FTP" xmlUrl="ftp://moi.vn/rss"/>'
        '  <outline text="JS" xmlUrl="javascript:alert(1)"/>'
        "</outline>"
        f'<outline text="Có rồi" xmlUrl="{SOURCES[0].url}" category="thoi-su"/>'
        '<outline text="Đã gỡ" xmlUrl="https://cu.vn/rss" category="thoi-su"/>'
        '<outline text="Lạ" xmlUrl="https://la.vn/rss" category="the-thao"/>'
        '<outline text="Không chủ đề" xmlUrl="https://khong.vn/rss"/>'
        '<outline text="Thiếu địa chỉ" type="rss" category="thoi-su"/>'
        '<outline xmlns:newsbot="urn:newsbot:opml" text="Trang" url="https://trang.vn/"'
        '  newsbot:kind="site" newsbot:article_pattern="([" category="thoi-su"/>'
        '<outline xmlns:newsbot="urn:newsbot:opml" text="Loại lạ" xmlUrl="https://k.vn/rss"'
        '  newsbot:kind="podcast" category="thoi-su"/>'
    )

    report = await import_opml(db, data, topic=None, now=NOW)

    assert [(a.spec.url, a.spec.name, a.spec.topics) for a in report.added] == [
        ("https://moi.vn/rss", "Mới", ("kinh-te",))  # tracking parameter dropped
    ]
    reasons = [(s.source, s.reason, dict(s.values)) for s in report.skipped]
    assert reasons == [
        ("https://moi.vn/rss", "duplicate", {}),
        ("ftp://moi.vn/rss", "not_http", {}),
        ("javascript:alert(1)", "not_http", {}),
        (SOURCES[0].url, "known", {"id": str(known)}),
        ("https://cu.vn/rss", "removed", {"id": str(gone)}),
        ("https://la.vn/rss", "unknown_topic", {"topic": "the-thao"}),
        ("https://khong.vn/rss", "no_topic", {}),
        ("Thiếu địa chỉ", "no_url", {}),
        ("https://trang.vn/", "bad_rule", {"detail": reasons[8][2]["detail"]}),
        ("https://k.vn/rss", "bad_kind", {"kind": "podcast"}),
    ]
    assert "not a valid regex" in reasons[8][2]["detail"]
    assert report.skipped[6].text("en") == "no topic (name one for the whole file)"
    assert report.skipped[3].text("vi") == f"đã có rồi (nguồn #{known})"
    assert {f.url for f in await db.feeds.list_feeds(include_disabled=False)} == {
        SOURCES[0].url,
        "https://moi.vn/rss",
    }


async def test_a_topic_for_the_whole_file_ignores_unknown_ones(topics_db: SqliteDatabase) -> None:
    data = opml(
        '<outline text="Subscriptions">'
        '  <outline text="A" xmlUrl="https://a.vn/rss" category="Kinh tế"/>'
        '  <outline text="B" xmlUrl="https://b.vn/rss"/>'
        "</outline>"
    )

    report = await import_opml(topics_db, data, topic="Khoa hoc cong nghe", now=NOW)

    assert [(a.spec.url, a.spec.topics) for a in report.added] == [
        ("https://a.vn/rss", ("kinh-te", "khoa-hoc-cong-nghe")),
        ("https://b.vn/rss", ("khoa-hoc-cong-nghe",)),
    ]
    assert report.skipped == ()
    assert report.ignored_topics == ("Subscriptions",)


async def test_nothing_is_written_when_the_file_or_topic_is_refused(
    topics_db: SqliteDatabase,
) -> None:
    good = opml('<outline text="A" xmlUrl="https://a.vn/rss" category="thoi-su"/>')
    broken = good[:-20]

    with pytest.raises(OpmlError) as unknown:
        await import_opml(topics_db, good, topic="the-thao", now=NOW)
    with pytest.raises(OpmlError) as malformed:
        await import_opml(topics_db, broken, topic=None, now=NOW)
    dry = await import_opml(topics_db, good, topic=None, now=NOW, dry_run=True)

    assert unknown.value.key == "opml.unknown_topic"
    assert "thoi-su, kinh-te, khoa-hoc-cong-nghe" in unknown.value.text("en")
    assert malformed.value.key == "opml.not_xml"
    assert [a.feed_id for a in dry.added] == [None]
    assert await topics_db.feeds.list_feeds() == []


async def test_too_many_new_sources_are_refused_whole(topics_db: SqliteDatabase) -> None:
    data = opml(
        '<outline text="Kinh tế">'
        + "".join(f'<outline xmlUrl="https://b{i}.vn/rss"/>' for i in range(MAX_NEW_SOURCES + 1))
        + "</outline>"
    )

    with pytest.raises(OpmlError) as caught:
        await import_opml(topics_db, data, topic=None, now=NOW)

    assert caught.value.text("en") == (
        f"The file has {MAX_NEW_SOURCES + 1} new sources; at most {MAX_NEW_SOURCES} can be added"
        " at a time, so split it up."
    )
    assert await topics_db.feeds.list_feeds() == []


# ---- the round trip ------------------------------------------------------------------------


async def test_export_then_import_into_a_new_database_gives_the_same_sources(
    tmp_path: Path,
) -> None:
    first = await open_db(tmp_path / "first.db")
    second = await open_db(tmp_path / "second.db")
    try:
        for spec in SOURCES:
            await first.feeds.add_feed(spec, now=NOW)
        removed, _ = await first.feeds.add_feed(
            FeedSpec("https://removed.vn/rss", "Đã gỡ", ("thoi-su",)), now=NOW
        )
        await first.feeds.disable_feed(str(removed))

        export = await export_opml(first, now=ManualClock().now)
        report = await import_opml(second, export.data, topic=None, now=NOW)
        again = await import_opml(second, export.data, topic=None, now=NOW)

        expected = sources(await first.feeds.list_feeds(include_disabled=False))
        assert export.count == len(SOURCES)
        assert export.filename.startswith("newsbot-sources-") and export.filename.endswith(".opml")
        assert len(report.added) == len(SOURCES) and report.skipped == ()
        assert sources(await second.feeds.list_feeds()) == expected
        assert {s.reason for s in again.skipped} == {"known"} and again.added == ()
        assert await second.feeds.list_topics() == await first.feeds.list_topics()
    finally:
        await first.close()
        await second.close()


def test_export_nests_by_first_topic_and_keeps_site_rules() -> None:
    feeds = [
        _row(1, SOURCES[1]),  # kinh-te and thoi-su: under Thời sự, the first topic
        _row(2, SOURCES[2]),
    ]

    data = build_opml(TOPICS, feeds, now=ManualClock().now).decode()

    assert data.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml')
    assert 'xmlns:newsbot="urn:newsbot:opml"' in data
    assert 'newsbot:topic="thoi-su"' in data and 'newsbot:topic="kinh-te"' not in data
    assert 'category="thoi-su,kinh-te"' in data
    assert "&lt;Đầu tư&gt;" in data and "&amp;" in data and "&quot;Kinh tế&quot;" in data
    assert 'type="link" url="https://sohuutritue.net.vn/"' in data
    assert 'newsbot:kind="site"' in data and 'newsbot:link_selector="h3 a"' in data


def _row(feed_id: int, spec: FeedSpec) -> FeedRow:
    return FeedRow(
        id=feed_id,
        url=spec.url,
        name=spec.name,
        kind=spec.kind,
        origin="operator",
        enabled=True,
        etag=None,
        last_modified=None,
        body_hash=None,
        first_polled_at=None,
        last_polled_at=None,
        last_success_at=None,
        next_poll_at=0,
        failures=0,
        last_error_kind=None,
        last_error=None,
        paused_at=None,
        articles_total=0,
        topics=spec.topics,
        article_pattern=spec.article_pattern,
        link_selector=spec.link_selector,
    )


def test_the_chat_report_fits_one_message() -> None:
    from bot.admin.opml import Added, ImportReport, Skipped

    report = ImportReport(
        tuple(
            Added(FeedSpec(f"https://a{i}.vn/rss", "Tên " * 40, ("thoi-su",)), i)
            for i in range(300)
        ),
        tuple(Skipped("x" * 300, "duplicate") for _ in range(300)),
        ("Subscriptions",),
    )

    text = render_report(report, "vi")

    assert text.startswith("📥 Đã thêm 300 nguồn tin, bỏ qua 300.")
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    assert "mục nữa." in text and "Subscriptions" in text


# ---- the command line ---------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "feeds.toml").write_text(FEEDS_TOML, encoding="utf-8")
    return tmp_path


async def test_cli_round_trip_and_toml_export(
    workdir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    for spec in SOURCES:
        args = ["feeds", "add", spec.url, "--name", spec.name]
        for topic in spec.topics:
            args += ["--topic", topic]
        if spec.kind == "site":
            args.append("--site")
        if spec.article_pattern:
            args.append(f"--pattern={spec.article_pattern}")
        if spec.link_selector:
            args += ["--selector", spec.link_selector]
        added = await run_newsbot(workdir, *args)
        assert added.code == 0, added.err

    exported = await run_newsbot(workdir, "feeds", "export", "--opml")
    toml_text = await run_newsbot(workdir, "feeds", "export")
    other = tmp_path_factory.mktemp("other")
    (other / "feeds.toml").write_text(FEEDS_TOML, encoding="utf-8")
    (other / "sources.opml").write_text(exported.out, encoding="utf-8")
    dry = await run_newsbot(other, "feeds", "import", "sources.opml", "--dry-run")
    imported = await run_newsbot(other, "feeds", "import", "sources.opml")
    listed = await run_newsbot(other, "feeds", "list", "--json")

    assert exported.code == 0, exported.err
    assert (
        dry.code == 0
        and dry.out.splitlines()[-1] == "dry run: 4 added, 0 skipped; nothing was added"
    )
    assert imported.code == 0, imported.err
    assert imported.out.splitlines()[-1] == "4 added, 0 skipped"
    assert "added site 3: https://sohuutritue.net.vn/ (Tạp chí Sở hữu trí tuệ)" in imported.out
    assert {(row["url"], row["name"]) for row in listed.json_lines()} == {
        (s.url, s.name) for s in SOURCES
    }
    # The TOML export is a feeds.toml that reads back to the same topics and sources.
    (other / "exported.toml").write_text(toml_text.out, encoding="utf-8")
    config = load_feeds_config(other / "exported.toml")
    assert [t.slug for t in config.topics] == ["thoi-su", "kinh-te", "khoa-hoc-cong-nghe"]
    assert config.topics[1].keywords == ("lãi suất",)
    assert {dataclasses.replace(f, topics=tuple(sorted(f.topics))) for f in config.feeds} == {
        dataclasses.replace(s, topics=tuple(sorted(s.topics))) for s in SOURCES
    }
    assert tomllib.loads(toml_text.out)["feeds"][2]["kind"] == "site"


async def test_cli_import_problems_are_one_line(workdir: Path) -> None:
    (workdir / "big.opml").write_bytes(b"<opml>" + b" " * (3 * 1024 * 1024) + b"</opml>")
    (workdir / "bad.opml").write_bytes(b"<opml><body>")
    (workdir / "ok.opml").write_bytes(opml('<outline text="A" xmlUrl="https://a.vn/rss"/>'))

    big = await run_newsbot(workdir, "feeds", "import", "big.opml")
    bad = await run_newsbot(workdir, "feeds", "import", "bad.opml")
    missing = await run_newsbot(workdir, "feeds", "import", "missing.opml")
    topic = await run_newsbot(workdir, "feeds", "import", "ok.opml", "--topic", "the-thao")
    no_topic = await run_newsbot(workdir, "feeds", "import", "ok.opml")
    with_topic = await run_newsbot(workdir, "feeds", "import", "ok.opml", "--topic", "Kinh te")

    assert big.code == 1 and big.err == "newsbot: big.opml: The file is too large: 2 MB at most.\n"
    assert bad.code == 1 and "bad.opml: This file is not well-formed XML (line 1" in bad.err
    assert missing.code == 1 and "cannot read missing.opml" in missing.err
    assert topic.code == 1 and "There is no topic “the-thao”" in topic.err
    for result in (big, bad, missing, topic):
        assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert no_topic.code == 0
    assert no_topic.out == (
        "skipped https://a.vn/rss: no topic (name one for the whole file)\n0 added, 1 skipped\n"
    )
    assert with_topic.out.splitlines()[0] == "added feed 1: https://a.vn/rss (A) [kinh-te]"


async def test_import_and_export_import_neither_telegram_nor_trafilatura(workdir: Path) -> None:
    (workdir / "ok.opml").write_bytes(opml('<outline text="A" xmlUrl="https://a.vn/rss"/>'))
    for args in (
        ["feeds", "export"],
        ["feeds", "export", "--opml"],
        ["feeds", "import", "ok.opml", "--topic", "thoi-su", "--dry-run"],
        ["feeds", "import", "--help"],
    ):
        code, loaded = await _modules_loaded_by(workdir, *args)

        assert code == 0, args
        assert loaded == [], f"newsbot {' '.join(args)} imported {loaded}"


# ---- /import and /export in a chat -------------------------------------------------------------

ADMIN = 4242
READER = 5151


class DocumentStandIn(BotApiStandIn):
    """The stand-in with documents: users send files, the bot sends and fetches them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.files: dict[str, bytes] = {}
        self.uploads: list[bytes] = []

    def _handlers(self) -> dict[str, Any]:
        return {
            **super()._handlers(),
            "sendDocument": self._send_document,
            "getFile": self._get_file,
        }

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["method"].lower() == "senddocument":
            form = await request.post()  # kept by aiohttp for the stand-in's own read
            for value in form.values():
                if isinstance(value, web.FileField):
                    self.uploads.append(value.file.read())
                    value.file.seek(0)
        return await super()._handle(request)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if not self._token_ok(request):
            return web.Response(status=401)
        data = self.files.get(request.match_info["path"])
        return web.Response(status=404) if data is None else web.Response(body=data)

    async def _get_file(self, params: JsonDict) -> JsonDict:
        file_id = get_str(params, "file_id") or ""
        path = f"documents/{file_id}.opml"
        return {"file_id": file_id, "file_unique_id": file_id, "file_path": path}

    async def _send_document(self, params: JsonDict) -> JsonDict:
        chat = self._target_chat(params)
        upload = params.get("document")
        assert isinstance(upload, dict), upload
        caption = get_str(params, "caption") or ""
        number = len(self.uploads)
        content: JsonDict = {
            "document": {
                "file_id": f"sent-{number}",
                "file_unique_id": f"sent-{number}",
                "file_name": upload.get("file_name"),
                "file_size": upload.get("size"),
            },
            "caption": caption,
        }
        message = self._store_new(chat, content, None, None, caption, get_str(params, "parse_mode"))
        self._record(
            SentMessage(
                chat_id=int(chat["id"]),
                message_id=int(message["message_id"]),
                text=caption,
                parse_mode=get_str(params, "parse_mode"),
                reply_markup=None,
                method="sendDocument",
                at=self._clock(),
                visible_text=caption,
                params=params,
            )
        )
        return message

    def user_document(
        self, chat_id: int, data: bytes, *, file_name: str, caption: str | None = None
    ) -> int:
        """A user in a private chat sends a file; returns the message id."""
        file_id = f"user-{len(self.files) + 1}"
        self.files[f"documents/{file_id}.opml"] = data
        message_id = self._new_message_id(chat_id)
        chat: JsonDict = {"id": chat_id, "type": "private", "first_name": "Lan"}
        self._chats[chat_id] = chat
        user: JsonDict = {
            "id": chat_id,
            "is_bot": False,
            "first_name": "Lan",
            "language_code": "vi",
        }
        message: JsonDict = {
            "message_id": message_id,
            "date": 0,
            "chat": chat,
            "from": user,
            "document": {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_name": file_name,
                "mime_type": "text/x-opml",
                "file_size": len(data),
            },
        }
        if caption is not None:
            message["caption"] = caption
            entities = command_entities(caption)
            if entities:
                message["caption_entities"] = entities
        self._messages[(chat_id, message_id)] = StoredMessage(message, from_bot=False)
        self._push_update("message", message)
        return message_id


@pytest.fixture
def world_with_documents(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(bot_world, "BotApiStandIn", DocumentStandIn)
    yield


@pytest.fixture
async def admin_world(tmp_path: Path, world_with_documents: None) -> AsyncIterator[BotWorld]:
    async with open_world(tmp_path) as world:
        world.services.settings = dataclasses.replace(
            world.services.settings, admin_ids=frozenset({ADMIN})
        )
        yield world


async def send_file(
    world: BotWorld, data: bytes, *, file_name: str, caption: str | None
) -> SentMessage:
    standin = world.standin
    assert isinstance(standin, DocumentStandIn)
    world.throttle_clock.advance(2.0)
    before = len(world.sent_to(ADMIN))
    standin.user_document(ADMIN, data, file_name=file_name, caption=caption)
    await standin.wait_for(lambda: len(world.sent_to(ADMIN)) > before)
    await world.barrier()
    [answer] = world.sent_to(ADMIN)[before:]
    return answer


async def test_admin_imports_by_caption_and_by_reply_then_exports(admin_world: BotWorld) -> None:
    world = admin_world
    standin = world.standin
    assert isinstance(standin, DocumentStandIn)
    file = opml(
        '<outline text="Kinh tế"><outline text="Báo A" xmlUrl="https://a.vn/rss"/></outline>'
        '<outline text="Báo B" xmlUrl="https://b.vn/rss"/>'
        '<outline text="Báo C" xmlUrl="ftp://c.vn/rss"/>'
    )

    captioned = await send_file(world, file, file_name="nguon.xml", caption="/import thoi-su")
    named = await send_file(
        world,
        opml('<outline text="Báo D" xmlUrl="https://d.vn/rss"/>'),
        file_name="d.opml",
        caption=None,
    )
    reply_target = standin.user_document(
        ADMIN, opml('<outline text="Báo E" xmlUrl="https://e.vn/rss"/>'), file_name="e.xml"
    )
    standin.user_message(ADMIN, "/import Kinh tế", reply_to_message_id=reply_target)
    await standin.wait_for(lambda: len(world.sent_to(ADMIN)) >= 3)
    await world.barrier()
    by_reply = world.sent_to(ADMIN)[-1]
    exported = await world.say(ADMIN, "/export")

    assert captioned.text.splitlines() == [
        "📥 Đã thêm 2 nguồn tin, bỏ qua 1.",
        "➕ Báo A",
        "➕ Báo B",
        "⏭ ftp://c.vn/rss: không phải địa chỉ http(s)",
    ]
    assert named.text.splitlines() == [
        "📥 Đã thêm 0 nguồn tin, bỏ qua 1.",
        "⏭ https://d.vn/rss: chưa có chủ đề (hãy ghi một chủ đề cho cả tệp)",
    ]
    assert by_reply.text.splitlines()[:2] == ["📥 Đã thêm 1 nguồn tin, bỏ qua 0.", "➕ Báo E"]
    feeds = {f.url: set(f.topics) for f in await world.db.feeds.list_feeds()}
    assert feeds == {
        "https://a.vn/rss": {"kinh-te", "thoi-su"},
        "https://b.vn/rss": {"thoi-su"},
        "https://e.vn/rss": {"kinh-te"},
    }
    [document] = exported
    assert document.method == "sendDocument"
    assert document.text.startswith("📤 3 nguồn tin, ngày ")
    [upload] = standin.uploads
    assert {o.url for o in read_opml(upload)} == set(feeds)


async def test_import_refusals_in_a_chat(admin_world: BotWorld) -> None:
    world = admin_world
    standin = world.standin
    assert isinstance(standin, DocumentStandIn)

    usage = await world.reply(ADMIN, "/import")
    not_admin = await world.reply(READER, "/export")
    bad = await send_file(world, b"<opml><body>", file_name="x.opml", caption="/import")
    laughs = await send_file(world, BILLION_LAUGHS, file_name="x.opml", caption="/import")
    topic = await send_file(world, opml(""), file_name="x.opml", caption="/import the-thao")
    nothing = await world.reply(ADMIN, "/export")

    assert usage.text.startswith("Bạn gửi tệp OPML cho mình")
    assert not_admin.text == "Xin lỗi, lệnh này chỉ dành cho quản trị viên."
    assert bad.text == "Tệp này không phải XML hợp lệ (dòng 1, cột 13)."
    assert laughs.text.startswith("Tệp này có khai báo thực thể XML")
    assert topic.text.startswith("Không có chủ đề “the-thao”. Các chủ đề: thoi-su, the-gioi")
    assert nothing.text == "Chưa có nguồn tin nào để xuất."
    assert await world.db.feeds.list_feeds() == []
    assert standin.uploads == []
