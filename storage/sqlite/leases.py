"""Leases: one bot process at a time polls and sends, even with several on one database."""

from __future__ import annotations

from storage.sqlite.connection import Connection


class SqliteLeases:
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def acquire(
        self, name: str, *, holder: str, ttl: int, now: int, replacing: str | None = None
    ) -> bool:
        """Take or renew the lease; False while another holder's lease is unexpired.

        replacing names a holder known to be dead: its lease is taken at once.
        """
        async with self._db.write() as conn:
            cursor = await conn.execute(
                """INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
                   ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                       expires_at = excluded.expires_at
                   WHERE leases.holder = excluded.holder OR leases.expires_at <= ?
                      OR leases.holder = ?""",
                (name, holder, now + ttl, now, replacing),
            )
            return cursor.rowcount > 0

    async def holder(self, name: str, *, now: int) -> str | None:
        """Who holds the lease now; None when no one does."""
        async with self._db.reader.execute(
            "SELECT holder FROM leases WHERE name = ? AND expires_at > ?", (name, now)
        ) as cursor:
            row = await cursor.fetchone()
        return str(row["holder"]) if row else None

    async def release(self, name: str, *, holder: str) -> None:
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    async def holders(self, prefix: str, *, now: int) -> list[str]:
        """Holders of the unexpired leases whose names start with prefix, sorted."""
        async with self._db.reader.execute(
            "SELECT holder FROM leases WHERE substr(name, 1, ?) = ? AND expires_at > ?",
            (len(prefix), prefix, now),
        ) as cursor:
            return sorted(str(r["holder"]) for r in await cursor.fetchall())
