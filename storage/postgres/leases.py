"""Leases: one bot process at a time polls and sends, even with several on one database."""

from __future__ import annotations

from storage.postgres.connection import Pool, affected


class PostgresLeases:
    def __init__(self, db: Pool) -> None:
        self._db = db

    async def acquire(
        self, name: str, *, holder: str, ttl: int, now: int, replacing: str | None = None
    ) -> bool:
        """Take or renew the lease; False while another holder's lease is unexpired.

        replacing names a holder known to be dead: its lease is taken at once.
        """
        async with self._db.write() as conn:
            status = await conn.execute(
                """INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
                   ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                       expires_at = excluded.expires_at
                   WHERE leases.holder = excluded.holder OR leases.expires_at <= $4
                      OR leases.holder = $5::text""",
                name,
                holder,
                now + ttl,
                now,
                replacing,
            )
        return affected(status) > 0

    async def holder(self, name: str, *, now: int) -> str | None:
        """Who holds the lease now; None when no one does."""
        value = await self._db.fetchval(
            "SELECT holder FROM leases WHERE name = $1 AND expires_at > $2", name, now
        )
        return None if value is None else str(value)

    async def release(self, name: str, *, holder: str) -> None:
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder)

    async def holders(self, prefix: str, *, now: int) -> list[str]:
        """Holders of the unexpired leases whose names start with prefix, sorted."""
        rows = await self._db.fetch(
            "SELECT holder FROM leases WHERE left(name, $1) = $2 AND expires_at > $3",
            len(prefix),
            prefix,
            now,
        )
        return sorted(str(r["holder"]) for r in rows)
