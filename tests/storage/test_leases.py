"""LeaseStore: one holder at a time per name, until the lease expires or is released."""

from __future__ import annotations

from storage.api import Database
from tests.storage.support import NOW


async def test_acquire_a_free_lease(db: Database) -> None:
    assert await db.leases.acquire("poller", holder="a", ttl=60, now=NOW) is True


async def test_another_holder_waits_until_the_lease_expires(db: Database) -> None:
    await db.leases.acquire("poller", holder="a", ttl=60, now=NOW)

    assert await db.leases.acquire("poller", holder="b", ttl=60, now=NOW) is False
    assert await db.leases.acquire("poller", holder="b", ttl=60, now=NOW + 59) is False
    assert await db.leases.acquire("poller", holder="b", ttl=60, now=NOW + 60) is True
    # and now the first holder is the one locked out
    assert await db.leases.acquire("poller", holder="a", ttl=60, now=NOW + 61) is False


async def test_the_holder_renews_its_lease(db: Database) -> None:
    await db.leases.acquire("poller", holder="a", ttl=60, now=NOW)

    assert await db.leases.acquire("poller", holder="a", ttl=60, now=NOW + 50) is True

    assert await db.leases.acquire("poller", holder="b", ttl=60, now=NOW + 100) is False
    assert await db.leases.acquire("poller", holder="b", ttl=60, now=NOW + 110) is True


async def test_renewal_sets_the_expiry_from_now_even_if_shorter(db: Database) -> None:
    await db.leases.acquire("poller", holder="a", ttl=600, now=NOW)

    await db.leases.acquire("poller", holder="a", ttl=10, now=NOW + 1)

    assert await db.leases.acquire("poller", holder="b", ttl=60, now=NOW + 11) is True


async def test_an_expired_lease_can_be_taken_back_by_its_holder(db: Database) -> None:
    await db.leases.acquire("poller", holder="a", ttl=60, now=NOW)

    assert await db.leases.acquire("poller", holder="a", ttl=60, now=NOW + 1000) is True
    assert await db.leases.acquire("poller", holder="b", ttl=60, now=NOW + 1059) is False


async def test_release_frees_the_lease_at_once(db: Database) -> None:
    await db.leases.acquire("poller", holder="a", ttl=600, now=NOW)

    await db.leases.release("poller", holder="a")

    assert await db.leases.acquire("poller", holder="b", ttl=600, now=NOW + 1) is True


async def test_release_by_another_holder_changes_nothing(db: Database) -> None:
    await db.leases.acquire("poller", holder="a", ttl=600, now=NOW)

    await db.leases.release("poller", holder="b")
    await db.leases.release("sender", holder="a")  # never held

    assert await db.leases.acquire("poller", holder="b", ttl=600, now=NOW + 1) is False
    assert await db.leases.acquire("poller", holder="a", ttl=600, now=NOW + 1) is True


async def test_leases_of_different_names_are_independent(db: Database) -> None:
    assert await db.leases.acquire("poller", holder="a", ttl=60, now=NOW) is True
    assert await db.leases.acquire("sender", holder="b", ttl=60, now=NOW) is True

    assert await db.leases.acquire("poller", holder="b", ttl=60, now=NOW) is False
    assert await db.leases.acquire("sender", holder="a", ttl=60, now=NOW) is False


async def test_holder_says_who_holds_an_unexpired_lease(db: Database) -> None:
    assert await db.leases.holder("poller", now=NOW) is None
    await db.leases.acquire("poller", holder="a", ttl=60, now=NOW)

    assert await db.leases.holder("poller", now=NOW + 59) == "a"
    assert await db.leases.holder("poller", now=NOW + 60) is None


async def test_replacing_takes_only_the_named_holders_lease(db: Database) -> None:
    await db.leases.acquire("poller", holder="a", ttl=60, now=NOW)

    assert not await db.leases.acquire("poller", holder="b", ttl=60, now=NOW, replacing="c")
    assert await db.leases.acquire("poller", holder="b", ttl=60, now=NOW, replacing="a")
    assert await db.leases.holder("poller", now=NOW) == "b"
    assert not await db.leases.acquire("poller", holder="a", ttl=60, now=NOW + 1)
