"""A throw-away PostgreSQL cluster for the tests.

`initdb` into a temporary directory, `pg_ctl start` on a free loopback port
with fsync off, a template database already migrated, and one fresh database
per test copied from it (`async with cluster.database() as url:`); the
cluster is stopped and its directory removed at the end of the session.

The server binaries are looked for on PATH, then in /usr/lib/postgresql/*/bin
(Debian's `postgresql` package puts them there, off PATH). PostgreSQL refuses
to run as root, so as root the cluster belongs to, and runs as, `nobody`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from storage.postgres import PostgresDatabase

T = TypeVar("T")

TEMPLATE = "newsbot_template"
SUPERUSER = "postgres"
_UNPRIVILEGED = "nobody"
_DEBIAN_BINARIES = Path("/usr/lib/postgresql")


def server_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: PATH first, then the newest Debian version."""
    on_path = [shutil.which(name) for name in ("initdb", "pg_ctl")]
    if all(on_path):
        return Path(str(on_path[0])).resolve().parent
    versions = sorted(
        (d for d in _DEBIAN_BINARIES.glob("*/bin") if d.parent.name.isdigit()),
        key=lambda d: int(d.parent.name),
        reverse=True,
    )
    for bindir in versions:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def missing_reason() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None when they can."""
    if server_bindir() is None:
        return (
            "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in "
            "/usr/lib/postgresql/*/bin: install Debian's postgresql package"
        )
    if os.geteuid() == 0 and not _can_switch_user():
        return "running as root, and neither runuser nor su can run the server as nobody"
    return None


def _can_switch_user() -> bool:
    try:
        pwd.getpwnam(_UNPRIVILEGED)
    except KeyError:
        return False
    return shutil.which("runuser") is not None or shutil.which("su") is not None


def _scratch_dir() -> str | None:
    """Where the cluster lives: memory (/dev/shm) when there is room, else the temp dir.
    A throw-away cluster needs no disk, and copying a database per test in memory
    is several times faster than on a disk the kernel is still writing back."""
    shm = Path("/dev/shm")
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    room = stats.f_bavail * stats.f_frsize
    return str(shm) if room > 1 << 30 and os.access(shm, os.W_OK) else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _in_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on its own loop in another thread, whatever loop
    (if any) is running in this one."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(make()))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=run, name="postgres-setup")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


class PostgresCluster:
    """A running throw-away cluster on 127.0.0.1; `stop()` ends it and removes its files."""

    def __init__(self, root: Path, bindir: Path, port: int, run_as: str | None) -> None:
        self.root = root
        self.bindir = bindir
        self.port = port
        self._run_as = run_as
        self._names = itertools.count(1)
        self._strategy = ""
        self._stopped = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, dbname: str, *, password: str | None = None) -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{SUPERUSER}{secret}@127.0.0.1:{self.port}/{dbname}"

    @classmethod
    def start(cls) -> PostgresCluster:
        bindir = server_bindir()
        if bindir is None:
            raise RuntimeError(missing_reason())
        # A short path: the Unix socket's path must fit in 107 bytes.
        root = Path(tempfile.mkdtemp(prefix="newsbot-pg-", dir=_scratch_dir()))
        run_as = _UNPRIVILEGED if os.geteuid() == 0 else None
        if run_as is not None:
            account = pwd.getpwnam(run_as)
            os.chown(root, account.pw_uid, account.pw_gid)
        cluster = cls(root, bindir, 0, run_as)
        # Stopped at exit even if the session never reaches its fixture teardown.
        atexit.register(cluster.stop)
        try:
            cluster._initdb()
            cluster._start_server()
            cluster._make_template()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _command(self, *args: str) -> list[str]:
        if self._run_as is None:
            return list(args)
        if shutil.which("runuser"):
            return ["runuser", "-u", self._run_as, "--", *args]
        quoted = " ".join(_shell_quote(a) for a in args)
        return ["su", "-s", "/bin/sh", self._run_as, "-c", quoted]

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            self._command(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C", "PGTZ": "UTC"},
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-2000:]}"
            )

    def _initdb(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )

    def _start_server(self) -> None:
        last: Exception | None = None
        for _ in range(3):  # another process may take the free port first
            self.port = _free_port()
            options = (
                f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                ""
            )
            try:
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "--pgdata",
                    str(self.data),
                    "--log",
                    str(self.root / "server.log"),
                    "--wait",
                    "--timeout",
                    "60",
                    "-o",
                    options,
                    "start",
                    timeout=90,
                )
                return
            except RuntimeError as exc:
                last = exc
        log = self.root / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"the PostgreSQL server would not start: {last}\n{tail}")

    def _make_template(self) -> None:
        async def make() -> str:
            admin = await asyncpg.connect(self.url("postgres"))
            try:
                version = int(await admin.fetchval("SHOW server_version_num"))
                await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
            finally:
                await admin.close()
            # The schema, once: each test's database is a copy of it.
            database = await PostgresDatabase.open(self.url(TEMPLATE))
            await database.close()
            # PostgreSQL 15 copies a small template fastest file by file.
            return " STRATEGY FILE_COPY" if version >= 150000 else ""

        self._strategy = _in_thread(make)

    @asynccontextmanager
    async def database(self) -> AsyncIterator[str]:
        """A fresh, migrated database for one test: its URL. Dropped afterwards."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        admin = await asyncpg.connect(self.url("postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"{self._strategy}')
        finally:
            await admin.close()
        try:
            yield self.url(name)
        finally:
            admin = await asyncpg.connect(self.url("postgres"))
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()

    async def empty_database(self) -> str:
        """A database with no schema at all (not dropped: the cluster goes at the end)."""
        name = f"empty_{os.getpid()}_{next(self._names)}"
        admin = await asyncpg.connect(self.url("postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once and remove the cluster's files (once; later calls
        do nothing). A server pg_ctl cannot stop is killed, so none outlives the tests."""
        if self._stopped:
            return
        self._stopped = True
        pid = self._server_pid()
        stopped = pid is None
        try:
            if pid is not None:
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "--pgdata",
                    str(self.data),
                    "--mode",
                    "immediate",
                    "--wait",
                    "stop",
                    timeout=60,
                )
                stopped = True
        finally:
            if pid is not None and not stopped and _is_postmaster_of(pid, self.data):
                _kill_and_wait(pid)
            shutil.rmtree(self.root, ignore_errors=True)

    def _server_pid(self) -> int | None:
        try:
            first = (self.data / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        return int(first) if first.strip().isdigit() else None


def _is_postmaster_of(pid: int, data: Path) -> bool:
    """True when pid is still the server of this data directory (not a reused pid)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(data).encode() in command


def _kill_and_wait(pid: int, timeout: float = 10.0) -> None:
    """SIGKILL the postmaster if it still runs, and wait until it is gone."""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, 0)
        os.kill(pid, signal.SIGKILL)
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # ProcessLookupError once it is gone
            time.sleep(0.01)


def _shell_quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def running_cluster() -> Iterator[PostgresCluster]:
    """The body of the session fixture: a started cluster, stopped afterwards.

    Without server binaries the PostgreSQL tests skip, saying why; under CI
    (the CI environment variable set) they fail instead, so a CI machine
    that lost its PostgreSQL cannot pass by running only SQLite.
    """
    reason = missing_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}", pytrace=False)
        pytest.skip(reason)
    cluster = PostgresCluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
