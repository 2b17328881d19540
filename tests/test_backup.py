"""Backups: an online copy during writes, a restore that refuses a running bot and a bad
file, the weekly copy and its retention, and PostgreSQL's pg_dump advice."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.backup import BACKGROUND_LEASE, pg_dump_command, pg_restore_command
from bot.cli.main import build_parser
from bot.runtime.background import LEASE_NAME, run_weekly_backup
from bot.runtime.context import BotServices
from bot.runtime.feeds_config import FeedsConfig
from bot.runtime.settings import SettingsError, load_settings
from storage.rows import FeedSpec
from storage.sqlite import SqliteDatabase
from storage.sqlite.backup import (
    BackupError,
    backup,
    backup_database,
    check_backup,
    dated_backups,
    restore_database,
    weekly_backup,
)
from tests.support.cli_run import run_newsbot
from tests.test_cli import _modules_loaded_by

NOW = 1_790_000_000


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def chat_ids(path: Path) -> set[int]:
    conn = sqlite3.connect(path)
    try:
        return {int(r[0]) for r in conn.execute("SELECT chat_id FROM subscribers")}
    finally:
        conn.close()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    database = await SqliteDatabase.open(tmp_path / "newsbot.db")
    try:
        yield database
    finally:
        await database.close()


async def test_a_backup_during_writes_restores_every_row_committed_before_it(
    db: SqliteDatabase, tmp_path: Path
) -> None:
    # Some megabytes, so the copy takes long enough for writes to land while it runs.
    async with db.sql.write() as conn:
        await conn.execute("CREATE TABLE padding (blob BLOB)")
        await conn.executemany(
            "INSERT INTO padding VALUES (randomblob(65536))", [() for _ in range(400)]
        )
    committed: list[int] = []
    stop = asyncio.Event()

    async def writer() -> None:
        chat = 1
        while not stop.is_set():
            await db.subscribers.ensure_subscriber(chat, now=NOW)
            committed.append(chat)
            chat += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    while len(committed) < 50:  # noqa: ASYNC110 - waiting on the writer's progress
        await asyncio.sleep(0.001)
    before = set(committed)
    result = await backup(db.location, tmp_path / "copy.db")
    during = len(committed) - len(before)
    stop.set()
    await task

    restored = tmp_path / "restored" / "newsbot.db"
    restore_database(result.path, restored, now=datetime.now(UTC))
    assert integrity(restored) == "ok"
    in_copy = chat_ids(restored)
    assert before <= in_copy
    assert in_copy <= set(committed)
    assert during > 0, "the bot kept writing while the copy was taken"
    assert result.size > 20 * 1024 * 1024
    # The copy is one file: no write-ahead log beside it to carry along.
    assert not Path(f"{result.path}-wal").exists()  # noqa: ASYNC240
    reopened = await SqliteDatabase.open(restored)
    try:
        assert await reopened.subscribers.get_subscriber(min(before)) is not None
    finally:
        await reopened.close()


def test_backup_refuses_an_existing_file_and_a_missing_database(tmp_path: Path) -> None:
    (tmp_path / "there.db").write_bytes(b"x")

    with pytest.raises(BackupError, match="no database at"):
        backup_database(tmp_path / "missing.db", tmp_path / "out.db")
    sqlite3.connect(tmp_path / "a.db").close()
    with pytest.raises(BackupError, match="already exists"):
        backup_database(tmp_path / "a.db", tmp_path / "there.db")
    with pytest.raises(BackupError, match="no directory"):
        backup_database(tmp_path / "a.db", tmp_path / "nowhere" / "out.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db", "there.db"]


async def test_restore_checks_the_backup_and_keeps_what_it_replaced(
    db: SqliteDatabase, tmp_path: Path
) -> None:
    await db.subscribers.ensure_subscriber(1, now=NOW)
    good = backup_database(db.location, tmp_path / "good.db").path
    await db.subscribers.ensure_subscriber(2, now=NOW)
    await db.close()
    live = Path(db.location)
    corrupt = tmp_path / "corrupt.db"
    data = bytearray(good.read_bytes())
    data[4096 * 2 : 4096 * 3] = b"\xff" * 4096  # a b-tree page of garbage
    corrupt.write_bytes(bytes(data))
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database")
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE x (y)")
    conn.close()

    for bad, message in (
        (corrupt, "integrity_check|not a readable"),
        (not_sqlite, "not a readable SQLite database"),
        (foreign, "not a newsbot database"),
        (tmp_path / "missing.db", "no file"),
    ):
        with pytest.raises(BackupError, match=message):
            restore_database(bad, live, now=datetime(2026, 9, 24, 8, 30, tzinfo=UTC))
        assert chat_ids(live) == {1, 2}, bad

    result = restore_database(good, live, now=datetime(2026, 9, 24, 8, 30, tzinfo=UTC))

    assert chat_ids(live) == {1}
    assert result.previous == live.with_name("newsbot.db.before-restore-20260924-083000")
    assert chat_ids(result.previous) == {1, 2}
    assert not list(tmp_path.glob(".*restoring*"))  # noqa: ASYNC240


def test_a_backup_from_a_newer_newsbot_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "future.db")
    for table in ("feeds", "articles", "subscribers", "outbox", "leases"):
        conn.execute(f"CREATE TABLE {table} (x)")
    conn.execute("PRAGMA user_version = 999")
    conn.close()

    with pytest.raises(BackupError, match="newer than this newsbot"):
        check_backup(tmp_path / "future.db")


# ---- the weekly copy -------------------------------------------------------------------


def test_weekly_backups_once_a_week_keeping_the_newest(tmp_path: Path) -> None:
    source = tmp_path / "newsbot.db"
    sqlite_db = sqlite3.connect(source)
    for table in ("feeds", "articles", "subscribers", "outbox", "leases"):
        sqlite_db.execute(f"CREATE TABLE {table} (x)")
    sqlite_db.execute("PRAGMA user_version = 1")
    sqlite_db.close()
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "other-2020-01-01.db").write_bytes(b"another bot's")
    (backups / "notes.txt").write_text("kept")
    start = date(2026, 9, 1)
    made: list[str] = []
    deleted: list[str] = []

    for day in range(0, 36):  # five weeks and a day, checked every day
        result = weekly_backup(source, backups, keep=3, today=start + timedelta(days=day))
        if result.made is not None:
            made.append(result.made.path.name)
        deleted += [p.name for p in result.deleted]

    assert made == [
        "newsbot-2026-09-01.db",
        "newsbot-2026-09-08.db",
        "newsbot-2026-09-15.db",
        "newsbot-2026-09-22.db",
        "newsbot-2026-09-29.db",
        "newsbot-2026-10-06.db",
    ]
    assert deleted == ["newsbot-2026-09-01.db", "newsbot-2026-09-08.db", "newsbot-2026-09-15.db"]
    assert [p.name for _, p in dated_backups(source, backups)] == made[-3:]
    assert (backups / "other-2020-01-01.db").exists() and (backups / "notes.txt").exists()
    for _, path in dated_backups(source, backups):
        check_backup(path)


async def test_the_background_job_writes_the_weekly_copy(
    db: SqliteDatabase, tmp_path: Path
) -> None:
    settings = dataclasses.replace(
        load_settings({}, env_file=None), backup_dir=tmp_path / "weekly", backup_keep=2
    )
    services = BotServices(settings=settings, db=db, config=FeedsConfig((), ()))
    await db.feeds.add_feed(FeedSpec("https://a.vn/rss", "A", ()), now=NOW)
    monday = datetime(2026, 9, 7, 3, 0, tzinfo=UTC)

    first = await run_weekly_backup(services, monday)
    same_week = await run_weekly_backup(services, monday + timedelta(days=6))
    next_week = await run_weekly_backup(services, monday + timedelta(days=7))
    third = await run_weekly_backup(services, monday + timedelta(days=14))
    off = await run_weekly_backup(
        dataclasses.replace(services, settings=dataclasses.replace(settings, backup_dir=None)),
        monday + timedelta(days=30),
    )

    assert first == tmp_path / "weekly" / "newsbot-2026-09-07.db"
    assert same_week is None and off is None
    assert next_week == tmp_path / "weekly" / "newsbot-2026-09-14.db"
    assert third == tmp_path / "weekly" / "newsbot-2026-09-21.db"
    assert sorted(p.name for p in (tmp_path / "weekly").iterdir()) == [
        "newsbot-2026-09-14.db",
        "newsbot-2026-09-21.db",
    ]
    copy = await SqliteDatabase.open(third)
    try:
        assert [f.url for f in await copy.feeds.list_feeds()] == ["https://a.vn/rss"]
    finally:
        await copy.close()


def test_backup_settings() -> None:
    settings = load_settings(
        {"NEWSBOT_BACKUP_DIR": "/var/lib/newsbot/backups", "NEWSBOT_BACKUP_KEEP": "8"},
        env_file=None,
    )
    default = load_settings({}, env_file=None)

    assert settings.backup_dir == Path("/var/lib/newsbot/backups") and settings.backup_keep == 8
    assert default.backup_dir is None and default.backup_keep == 4
    for bad in ("0", "-1", "four", "2.5"):
        with pytest.raises(SettingsError, match=r"^NEWSBOT_BACKUP_KEEP:"):
            load_settings({"NEWSBOT_BACKUP_KEEP": bad}, env_file=None)


def test_the_lease_restore_checks_is_the_one_the_bot_holds() -> None:
    assert BACKGROUND_LEASE == LEASE_NAME


# ---- the command line ----------------------------------------------------------------------


async def test_cli_backup_and_restore_refused_while_a_bot_holds_the_lease(
    tmp_path: Path,
) -> None:
    live = tmp_path / "newsbot.db"
    db = await SqliteDatabase.open(live)
    try:
        await db.subscribers.ensure_subscriber(1, now=NOW)
        await db.leases.acquire(LEASE_NAME, holder="host:1:abc", ttl=60, now=int(time.time()))

        made = await run_newsbot(tmp_path, "backup", "copy.db")
        again = await run_newsbot(tmp_path, "backup", "copy.db")
        await db.subscribers.ensure_subscriber(2, now=NOW)
        refused = await run_newsbot(tmp_path, "restore", "copy.db")
        assert chat_ids(live) == {1, 2}

        await db.leases.release(LEASE_NAME, holder="host:1:abc")
    finally:
        await db.close()
    restored = await run_newsbot(tmp_path, "restore", "copy.db")
    # An expired lease (a bot killed long ago) does not hold the restore back.
    db = await SqliteDatabase.open(live)
    await db.leases.acquire(LEASE_NAME, holder="host:2:dead", ttl=30, now=int(time.time()) - 60)
    await db.close()
    after_expiry = await run_newsbot(tmp_path, "restore", "copy.db")
    missing = await run_newsbot(tmp_path, "restore", "nothing.db")

    assert made.code == 0, made.err
    assert made.out.startswith(f"backed up {live} to copy.db (")
    assert "PRAGMA integrity_check ok" in made.out
    assert again.code == 1
    assert again.err == "newsbot: copy.db already exists; choose another name or remove it\n"
    assert refused.code == 1 and refused.err.count("\n") == 1
    assert "a bot is running on" in refused.err and "host:1:abc" in refused.err
    assert restored.code == 0, restored.err
    assert restored.out.startswith(f"restored copy.db into {live}")
    assert "the database it replaced is kept as" in restored.out
    assert chat_ids(live) == {1}
    assert after_expiry.code == 0, after_expiry.err
    assert missing.code == 1 and missing.err == "newsbot: no file nothing.db\n"


async def test_cli_backup_of_postgresql_prints_pg_dump_without_the_password(
    tmp_path: Path,
) -> None:
    url = "postgresql://newsbot:s3cr%40t-pass@db.example.vn:5432/newsbot"

    dumped = await run_newsbot(tmp_path, "backup", "newsbot.dump", env={"NEWSBOT_DB": url})
    restored = await run_newsbot(tmp_path, "restore", "newsbot.dump", env={"NEWSBOT_DB": url})

    assert dumped.code == 1 and restored.code == 1
    assert (
        "pg_dump --format=custom --no-owner --file=newsbot.dump "
        "postgresql://newsbot@db.example.vn:5432/newsbot"
    ) in dumped.out
    assert "pg_restore --clean --if-exists --no-owner --single-transaction" in restored.out
    for result in (dumped, restored):
        assert "s3cr" not in result.out + result.err
    assert not (tmp_path / "newsbot.dump").exists()


def test_pg_commands_quote_what_the_shell_would_split() -> None:
    url = "postgresql://u@h/db?sslmode=require&application_name=newsbot"

    assert pg_dump_command(url, "my backup.dump") == (
        "pg_dump --format=custom --no-owner --file='my backup.dump' "
        "'postgresql://u@h/db?sslmode=require&application_name=newsbot'"
    )
    assert pg_restore_command(url, "x.dump").endswith(
        "--dbname='postgresql://u@h/db?sslmode=require&application_name=newsbot' x.dump"
    )


async def test_backup_and_restore_import_neither_telegram_nor_trafilatura(
    tmp_path: Path,
) -> None:
    db = await SqliteDatabase.open(tmp_path / "newsbot.db")
    await db.close()
    for args in (["backup", "copy.db"], ["restore", "copy.db"], ["backup", "--help"]):
        code, loaded = await _modules_loaded_by(tmp_path, *args)

        assert code == 0, args
        assert loaded == [], f"newsbot {' '.join(args)} imported {loaded}"


# ---- deploy/newsbot.service and the Dockerfile --------------------------------------------
# Neither is run here (no systemd as PID 1, no Docker daemon): these tests hold what they
# name to the project — the command, its settings, the files the image is built from.

REPO = Path(__file__).resolve().parents[1]


def unit_settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (REPO / "deploy" / "newsbot.service").read_text().splitlines():
        if line.strip() and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_unit_runs_newsbot_as_its_own_user_writing_only_its_data() -> None:
    unit = unit_settings()
    executable, *args = unit["ExecStart"][0].split()

    assert executable == "/opt/newsbot/venv/bin/newsbot" and args == ["run"]
    assert build_parser().parse_args(args).command == "run"
    assert unit["User"] == ["newsbot"] and unit["Group"] == ["newsbot"]
    assert unit["EnvironmentFile"] == ["/etc/newsbot/newsbot.env"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["NoNewPrivileges"] == ["yes"]
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["ReadWritePaths"] == ["/var/lib/newsbot"] == unit["WorkingDirectory"]
    guide = (REPO / "docs" / "deploy.md").read_text()
    assert "NEWSBOT_DB=/var/lib/newsbot/newsbot.db" in guide
    assert "NEWSBOT_BACKUP_DIR=/var/lib/newsbot/backups" in guide


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    newsbot = Path(sys.executable).parent / "newsbot"
    if not newsbot.exists():
        pytest.skip("newsbot is not installed beside this Python")
    text = (REPO / "deploy" / "newsbot.service").read_text()
    # verify checks that ExecStart exists: point it at this checkout's installed command.
    (tmp_path / "newsbot.service").write_text(
        text.replace("/opt/newsbot/venv/bin/newsbot", str(newsbot))
    )

    checked = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "newsbot.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # Unknown keys and bad values are warnings on stderr, not a failing exit code.
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr


def test_the_dockerfile_builds_from_files_that_exist_and_runs_unprivileged() -> None:
    lines = [
        line.strip()
        for line in (REPO / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [part for line in lines if line.startswith("COPY ") for part in line.split()[1:-1]]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]

    assert lines[0] == "FROM python:3.11-slim"
    assert sorted(copied) == [
        "README.md",
        "bot",
        "feeds.toml",
        "handlers",
        "pyproject.toml",
        "storage",
    ]
    for source in copied:
        assert (REPO / source).exists(), source
        assert source not in ignored and f"{source}/" not in ignored, source
    assert "RUN pip install ." in lines
    assert lines[-1] == 'CMD ["newsbot", "run"]' and "newsbot" in scripts
    assert [line for line in lines if line.startswith("USER ")] == ["USER newsbot"]
    last_run = max(i for i, line in enumerate(lines) if line.startswith("RUN"))
    assert lines.index("USER newsbot") > last_run  # nothing runs as root after it
    assert 'VOLUME ["/data"]' in lines
    assert any("NEWSBOT_DB=/data/newsbot.db" in line for line in lines)
    for secret_or_state in (".env", "*.db", ".venv", ".git"):
        assert secret_or_state in ignored


def test_every_setting_the_deploy_guide_names_is_a_real_one() -> None:
    guide = (REPO / "docs" / "deploy.md").read_text()
    example = (REPO / ".env.example").read_text()
    named = set(re.findall(r"\b((?:NEWSBOT|TELEGRAM)_[A-Z_]+|ADMIN_IDS)\b", guide))

    assert named, "the guide names the settings it uses"
    for name in sorted(named):
        assert re.search(rf"^{name}=", example, re.M), f"{name} is not in .env.example"
