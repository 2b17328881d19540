"""What only the PostgreSQL backend has: URLs, connection errors, migrations, several processes.

The contract suite (every other test here) runs on PostgreSQL too; these need
a server of their own: `postgres_cluster` (tests/support/postgres.py).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

import storage
from storage import DatabaseError, search_segments
from storage.postgres import PostgresDatabase, connection
from storage.postgres import articles as pg_articles
from storage.postgres.connection import ParsedUrl, explain_connect_error
from storage.postgres.migrations import MIGRATIONS
from storage.rows import Priority
from storage.sqlite import SqliteDatabase
from tests.storage.support import NOW, add_feed, article, enqueue_reply
from tests.support import postgres as support
from tests.support.cli_run import run_newsbot
from tests.support.postgres import PostgresCluster

SECRET = "s3cret-pw"


@pytest.fixture
async def pg_url(postgres_cluster: PostgresCluster) -> AsyncIterator[str]:
    async with postgres_cluster.database() as url:
        yield url


def with_password(url: str, password: str = SECRET) -> str:
    scheme, _, rest = url.partition("://")
    user, _, host = rest.partition("@")
    return f"{scheme}://{user}:{password}@{host}"


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def open_error(location: str | Path) -> str:
    with pytest.raises(DatabaseError) as caught:
        database = await storage.open_database(location)
        await database.close()
    message = str(caught.value)
    assert "\n" not in message
    assert SECRET not in message
    assert SECRET not in repr(caught.value.__cause__ or "")
    return message


# Choosing the backend


async def test_a_postgresql_url_opens_postgresql(pg_url: str) -> None:
    database = await storage.open_database(with_password(pg_url))
    try:
        assert isinstance(database, PostgresDatabase)
        assert database.location == pg_url  # the URL without its password
        assert SECRET not in database.location
        assert await database.articles.count_articles() == 0
    finally:
        await database.close()


@pytest.mark.parametrize("form", ["postgres://", "POSTGRESQL://", "path"])
async def test_other_spellings_of_the_url_open_postgresql(pg_url: str, form: str) -> None:
    url = with_password(pg_url)
    # "path": a URL that went through pathlib (Path folds "//" into "/").
    location: str | Path = Path(url) if form == "path" else form + url.partition("://")[2]

    database = await storage.open_database(location)
    try:
        assert isinstance(database, PostgresDatabase)
        assert SECRET not in database.location
        assert storage.is_database_url(location)
    finally:
        await database.close()


async def test_a_path_still_opens_sqlite(tmp_path: Path) -> None:
    for location in (tmp_path / "newsbot.db", str(tmp_path / "postgresql.db")):
        database = await storage.open_database(location)
        try:
            assert isinstance(database, SqliteDatabase)
            assert not storage.is_database_url(location)
        finally:
            await database.close()


async def test_newsbot_db_as_a_url_runs_the_operator_commands_on_postgresql(
    pg_url: str, tmp_path: Path
) -> None:
    (tmp_path / "feeds.toml").write_text(
        '[[topics]]\nslug = "kinh-te"\nname_vi = "Kinh tế"\nname_en = "Economy"\n\n'
        '[[feeds]]\nurl = "https://bao.example.vn/rss"\nname = "Báo"\ntopics = ["kinh-te"]\n',
        encoding="utf-8",
    )
    env = {"NEWSBOT_DB": with_password(pg_url)}

    listed = await run_newsbot(tmp_path, "feeds", "list", "--json", env=env)
    found = await run_newsbot(tmp_path, "search", "hà nội", env=env)

    assert listed.code == 0, listed.err
    assert [f["url"] for f in listed.json_lines()] == ["https://bao.example.vn/rss"]
    assert found.code == 0, found.err
    assert not (tmp_path / "newsbot.db").exists()  # no SQLite file was made
    database = await PostgresDatabase.open(pg_url)
    try:  # it was PostgreSQL that the commands used
        assert [f.url for f in await database.feeds.list_feeds()] == ["https://bao.example.vn/rss"]
    finally:
        await database.close()


async def test_newsbot_with_an_unreachable_server_says_one_line(tmp_path: Path) -> None:
    port = closed_port()
    (tmp_path / "feeds.toml").write_text("", encoding="utf-8")

    result = await run_newsbot(
        tmp_path,
        "stats",
        env={"NEWSBOT_DB": f"postgresql://newsbot:{SECRET}@127.0.0.1:{port}/newsbot"},
    )

    assert result.code == 1
    assert result.err == (
        f"newsbot: NEWSBOT_DB: cannot connect to postgresql://newsbot@127.0.0.1:{port}/newsbot: "
        "connection refused\n"
    )


# Errors: one line, never the password


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"postgresql://newsbot:{SECRET}@127.0.0.1:notaport/newsbot",
            "invalid PostgreSQL URL postgresql://newsbot@127.0.0.1:notaport/newsbot: "
            "port 'notaport' is not a number from 1 to 65535",
        ),
        (
            f"postgresql://newsbot:{SECRET}@127.0.0.1:99999/newsbot",
            "invalid PostgreSQL URL postgresql://newsbot@127.0.0.1:99999/newsbot: "
            "port '99999' is not a number from 1 to 65535",
        ),
        (
            f"postgresql://newsbot:{SECRET}@[::1/newsbot",
            "invalid PostgreSQL URL postgresql://newsbot@[::1/newsbot: "
            "an IPv6 address opened with [ is never closed with ]",
        ),
        (
            f"postgresql://newsbot:{SECRET}/x?y@127.0.0.1:5432/newsbot",
            "invalid PostgreSQL URL postgresql://newsbot@127.0.0.1:5432/newsbot: "
            "/ ? before the last @: percent-encode them in the password",
        ),
        (
            f"postgresql://newsbot:{SECRET}@127.0.0.1:5432/newsbot?sslmode=bogus",
            "invalid PostgreSQL URL postgresql://newsbot@127.0.0.1:5432/newsbot?sslmode=bogus: "
            "`sslmode` parameter must be one of",
        ),
    ],
)
async def test_a_bad_url_is_one_line_without_the_password(url: str, expected: str) -> None:
    assert (await open_error(url)).startswith(expected)


async def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    port = closed_port()

    message = await open_error(f"postgresql://newsbot:{SECRET}@127.0.0.1:{port}/newsbot")

    assert message == (
        f"cannot connect to postgresql://newsbot@127.0.0.1:{port}/newsbot: connection refused"
    )


async def test_a_password_in_the_query_is_hidden_too() -> None:
    port = closed_port()

    message = await open_error(
        f"postgresql://127.0.0.1:{port}/newsbot?user=newsbot&password={SECRET}"
    )

    assert message == (
        f"cannot connect to postgresql://127.0.0.1:{port}/newsbot?user=newsbot: connection refused"
    )


async def test_an_unknown_database_says_so(postgres_cluster: PostgresCluster) -> None:
    url = with_password(postgres_cluster.url("no_such_db"))

    message = await open_error(url)

    assert message == (
        f"cannot connect to {postgres_cluster.url('no_such_db')}: "
        'database "no_such_db" does not exist'
    )


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://h/db", "postgresql://h/db"),
        ("postgresql:///db?host=/run/postgresql", "postgresql:///db?host=/run/postgresql"),
        ("postgresql://h/db?pass%77ord=pw&x=1", "postgresql://h/db?x=1"),
        ("postgres://u:p%40ss%2Fw@h/db", "postgres://u@h/db"),
        ("postgresql://u:p@ss/w?x@h/db", "postgresql://u@h/db"),  # unencoded @ / ? in it
        ("postgresql://u:p@ss@h/db", "postgresql://u@h/db"),
        ("postgresql://u:pw@h1:5432,h2:5433/db", "postgresql://u@h1:5432,h2:5433/db"),
        ("postgresql://u@h/db?password=pw&sslmode=disable", "postgresql://u@h/db?sslmode=disable"),
    ],
)
def test_the_safe_url_never_holds_the_password(url: str, safe: str) -> None:
    assert ParsedUrl(url).safe == safe


def test_a_server_message_that_echoes_the_password_is_scrubbed() -> None:
    url = ParsedUrl(f"postgresql://newsbot:{SECRET}@db.example:5432/newsbot")
    error = asyncpg.InvalidPasswordError(f'password "{SECRET}" authentication failed\nfor "x"')

    message = explain_connect_error(error, url)

    assert message == (
        'cannot connect to postgresql://newsbot@db.example:5432/newsbot: password "***" '
        "authentication failed"
    )


async def test_a_dropped_idle_connection_is_replaced_unseen(
    postgres_cluster: PostgresCluster, pg_url: str
) -> None:
    database = await PostgresDatabase.open(pg_url)
    try:
        await terminate_sessions(postgres_cluster, pg_url)

        assert await database.articles.count_articles() == 0  # a new connection is made
    finally:
        await database.close()


async def test_a_connection_lost_mid_query_is_one_line_and_the_pool_recovers(
    postgres_cluster: PostgresCluster, pg_url: str
) -> None:
    database = await PostgresDatabase.open(with_password(pg_url))

    async def slow_write() -> None:
        async with database.pg.write() as conn:
            await conn.execute("SELECT pg_sleep(30)")

    try:
        slow = asyncio.create_task(slow_write())
        await terminate_sessions(postgres_cluster, pg_url, running="pg_sleep")

        with pytest.raises(DatabaseError) as caught:
            await slow
        message = str(caught.value)
        assert message.startswith(f"lost the connection to {pg_url}: ")
        assert "\n" not in message and SECRET not in message
        assert await database.articles.count_articles() == 0
    finally:
        await database.close()


async def terminate_sessions(
    cluster: PostgresCluster, url: str, *, running: str | None = None
) -> None:
    """End the server sessions on url's database (those running a query with running in
    its text, once one is), as a restart or a network cut would."""
    dbname = url.rpartition("/")[2]
    admin = await asyncpg.connect(cluster.url("postgres"))
    try:
        for _ in range(200):
            ended = await admin.fetchval(
                """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                   WHERE datname = $1 AND ($2::text IS NULL OR query LIKE '%' || $2 || '%')
                     AND pid <> pg_backend_pid()""",
                dbname,
                running,
            )
            if ended:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"no session on {dbname} to end")
    finally:
        await admin.close()


# Migrations


async def test_migrations_are_recorded_and_applied_once(pg_url: str) -> None:
    for _ in range(2):
        database = await PostgresDatabase.open(pg_url)
        try:
            versions = await database.pg.fetch("SELECT version FROM schema_migrations ORDER BY 1")
        finally:
            await database.close()
        assert [r["version"] for r in versions] == list(range(1, len(MIGRATIONS) + 1))


async def test_a_newer_schema_is_refused(pg_url: str) -> None:
    database = await PostgresDatabase.open(pg_url)
    try:
        async with database.pg.write() as conn:
            await conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)")
    finally:
        await database.close()

    message = await open_error(pg_url)

    assert message == (
        f"the database's schema version 99 is newer than this newsbot's ({len(MIGRATIONS)}): "
        "upgrade newsbot"
    )


async def test_processes_starting_together_migrate_once(postgres_cluster: PostgresCluster) -> None:
    url = await postgres_cluster.empty_database()

    opened = await asyncio.gather(*(PostgresDatabase.open(url) for _ in range(4)))

    try:
        for database in opened:
            assert await database.feeds.list_feeds() == []
        versions = await opened[0].pg.fetch("SELECT version FROM schema_migrations")
        assert len(versions) == len(MIGRATIONS)
    finally:
        for database in opened:
            await database.close()


async def test_a_database_that_is_not_newsbots_is_left_alone(
    postgres_cluster: PostgresCluster,
) -> None:
    url = await postgres_cluster.empty_database()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE topics (something_else INTEGER)")
    finally:
        await conn.close()

    message = await open_error(url)

    assert message == (f'cannot bring {url} to schema version 1: relation "topics" already exists')
    conn = await asyncpg.connect(url)
    try:  # the failed step left nothing behind
        assert await conn.fetchval("SELECT to_regclass('feeds')") is None
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 0
    finally:
        await conn.close()


async def test_a_user_who_may_not_create_tables_is_told_so(
    postgres_cluster: PostgresCluster,
) -> None:
    url = await postgres_cluster.empty_database()
    admin = await asyncpg.connect(url)
    try:
        await admin.execute("CREATE ROLE reader LOGIN")
        await admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    finally:
        await admin.close()
    as_reader = url.replace(f"//{support.SUPERUSER}@", "//reader@")

    message = await open_error(with_password(as_reader))

    assert message == (f"cannot prepare {as_reader}: permission denied for schema public")


# Several processes on one database


async def test_senders_in_two_processes_never_claim_the_same_row(pg_url: str) -> None:
    first = await PostgresDatabase.open(pg_url)
    second = await PostgresDatabase.open(pg_url)
    try:
        queued = {
            await enqueue_reply(first, chat, f"k{chat}", priority=Priority.ALERT)
            for chat in range(1, 61)
        }
        claimed: list[int] = []
        for _ in range(3):
            a, b = await asyncio.gather(
                first.outbox.claim_due(now=NOW, limit=15),
                second.outbox.claim_due(now=NOW, limit=15),
            )
            claimed += [r.id for r in a] + [r.id for r in b]

        assert len(claimed) == len(set(claimed)) == 60
        assert set(claimed) == queued
        assert await first.outbox.counts_by_status() == {"sending": 60}
        assert {r.attempts for r in await first.outbox.claim_due(now=NOW, limit=100)} == set()
    finally:
        await first.close()
        await second.close()


async def test_one_of_several_processes_gets_a_lease(pg_url: str) -> None:
    opened = [await PostgresDatabase.open(pg_url) for _ in range(4)]
    try:
        won = await asyncio.gather(
            *(
                database.leases.acquire("background", holder=f"p{i}", ttl=60, now=NOW)
                for i, database in enumerate(opened)
            )
        )

        assert sorted(won) == [False, False, False, True]
        assert await opened[0].leases.holder("background", now=NOW) == f"p{won.index(True)}"
    finally:
        for database in opened:
            await database.close()


async def test_a_process_that_hangs_in_a_transaction_frees_its_rows(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process stopped mid-transaction (SIGSTOP, swapping, its machine gone) would
    hold its row locks and the claim lock forever; the server ends its session after
    idle_in_transaction_session_timeout (5 s; 0.3 s here) and the others go on."""
    default = await PostgresDatabase.open(pg_url)
    try:
        assert await default.pg.fetchval("SHOW idle_in_transaction_session_timeout") == "5s"
    finally:
        await default.close()
    monkeypatch.setitem(connection.SESSION_SETTINGS, "idle_in_transaction_session_timeout", "300")
    hung = await PostgresDatabase.open(pg_url)
    other = await PostgresDatabase.open(pg_url)
    try:
        row_id = await enqueue_reply(hung, 1, "k1", priority=Priority.ALERT)
        holding = asyncio.Event()
        never = asyncio.Event()

        async def hang_holding_the_row() -> None:
            async with hung.pg.write() as conn:
                await conn.execute("SELECT id FROM outbox WHERE id = $1 FOR UPDATE", row_id)
                holding.set()
                await asyncio.wait_for(never.wait(), timeout=10)

        hanging = asyncio.create_task(hang_holding_the_row())
        await holding.wait()
        # Locked rows are skipped, never waited for: the others see nothing to claim
        # (and are not held up) until the server has ended the hung session.
        assert await other.outbox.claim_due(now=NOW, limit=10) == []
        claimed: list[int] = []
        for _ in range(30):
            await asyncio.sleep(0.1)
            claimed = [r.id for r in await other.outbox.claim_due(now=NOW, limit=10)]
            if claimed:
                break

        assert claimed == [row_id]
        hanging.cancel()
        with pytest.raises((asyncio.CancelledError, DatabaseError, asyncpg.PostgresError)):
            await hanging
    finally:
        await hung.close()
        await other.close()


# Without a server


def test_without_server_binaries_the_tests_skip_unless_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(support, "server_bindir", lambda: None)

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no PostgreSQL server binaries"):
        next(support.running_cluster())

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the PostgreSQL tests"):
        next(support.running_cluster())


async def test_an_article_committed_late_is_never_left_out_of_a_sealed_segment(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Process A takes an id and is slow to commit; process B stores newer articles
    and seals the segments below them meanwhile. The seal waits for A, sees its
    article, writes nothing for that segment, and the next seal includes it."""
    monkeypatch.setattr(search_segments, "LEVELS", (4, 16))
    slow = await PostgresDatabase.open(pg_url)
    other = await PostgresDatabase.open(pg_url)
    try:
        feed_id = await add_feed(other)
        await other.articles.store(feed_id, [article(f"old{i}") for i in range(2)], now=NOW)
        inserted = asyncio.Event()
        commit = asyncio.Event()

        async def store_slowly() -> None:
            async with slow.pg.write() as conn:
                await pg_articles.store_articles(
                    conn, feed_id, [article("late", title="tin hiem")], now=NOW,
                    alert_keys=frozenset(), keyword_chats={},
                )  # fmt: skip
                inserted.set()
                await asyncio.wait_for(commit.wait(), timeout=10)

        storing = asyncio.create_task(store_slowly())
        await inserted.wait()
        await other.articles.store(feed_id, [article(f"new{i}") for i in range(9)], now=NOW)
        sealing = asyncio.create_task(other.articles.seal_search_segments(now=NOW))
        for _ in range(100):  # until the seal waits for the slow transaction's lock
            waiting = await other.pg.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if waiting or sealing.done():
                break
            await asyncio.sleep(0.02)
        assert waiting and not sealing.done()
        commit.set()
        await storing
        await sealing

        await other.articles.seal_search_segments(now=NOW)
        found = await other.articles.search_articles(["hiem"])
        assert [a.title for a in found] == ["tin hiem"]
        assert found[0].id == 3  # taken before the newer nine, committed after them
        assert await other.pg.fetchval("SELECT count(*) FROM search_segments") > 0
    finally:
        await slow.close()
        await other.close()
