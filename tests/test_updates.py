"""Updates from different chats are handled side by side; one chat's in arrival order."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.runtime.updates import PerChatUpdateProcessor
from bot.text.i18n import t
from tests.support.bot_world import BotWorld


def message_update(update_id: int, chat_id: int) -> Update:
    update = Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "text": "/help",
            },
        },
        None,
    )
    assert update is not None
    return update


class Handled:
    """Records when each update's handling starts and ends; some wait for a release."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    def hold(self, name: str) -> None:
        self.gates[name] = asyncio.Event()

    async def handle(self, name: str) -> None:
        self.events.append(f"start {name}")
        gate = self.gates.get(name)
        if gate is not None:
            await gate.wait()
        self.events.append(f"end {name}")


async def feed(
    processor: PerChatUpdateProcessor, handled: Handled, updates: list[tuple[str, int]]
) -> list[asyncio.Task[None]]:
    """Hand updates to the processor as python-telegram-bot does: one task each, in order."""
    tasks = [
        asyncio.create_task(processor.process_update(message_update(n, chat), handled.handle(name)))
        for n, (name, chat) in enumerate(updates, 1)
    ]
    await asyncio.sleep(0)  # let every task reach its turn
    await asyncio.sleep(0)
    return tasks


async def test_another_chat_is_answered_while_one_is_busy() -> None:
    processor, handled = PerChatUpdateProcessor(), Handled()
    handled.hold("a1")
    tasks = await feed(processor, handled, [("a1", 1), ("b1", 2)])
    await asyncio.wait_for(tasks[1], 1)
    assert handled.events == ["start a1", "start b1", "end b1"]
    handled.gates["a1"].set()
    await asyncio.gather(*tasks)


async def test_one_chat_is_handled_in_arrival_order() -> None:
    processor, handled = PerChatUpdateProcessor(), Handled()
    handled.hold("a1")
    tasks = await feed(processor, handled, [("a1", 1), ("a2", 1), ("a3", 1), ("b1", 2)])
    await asyncio.wait_for(tasks[3], 1)
    assert "start a2" not in handled.events  # waits for a1, however quick it would be
    handled.gates["a1"].set()
    await asyncio.gather(*tasks)
    a_events = [e for e in handled.events if e.endswith(("a1", "a2", "a3"))]
    assert a_events == ["start a1", "end a1", "start a2", "end a2", "start a3", "end a3"]


async def test_updates_waiting_for_their_chat_hold_no_handling_slot() -> None:
    # Two slots: a1 holds one; a2…a5 wait for a1, not for a slot, so b1 gets the other.
    processor, handled = PerChatUpdateProcessor(max_running=2), Handled()
    handled.hold("a1")
    chat_a = [(f"a{n}", 1) for n in range(1, 6)]
    tasks = await feed(processor, handled, [*chat_a, ("b1", 2)])
    await asyncio.wait_for(tasks[-1], 1)
    assert handled.events == ["start a1", "start b1", "end b1"]
    handled.gates["a1"].set()
    await asyncio.gather(*tasks)
    assert len(handled.events) == 12


async def test_idle_waits_for_every_update_and_turns_are_forgotten() -> None:
    processor, handled = PerChatUpdateProcessor(), Handled()
    handled.hold("a1")
    tasks = await feed(processor, handled, [("a1", 1), ("a2", 1)])
    idle = asyncio.create_task(processor.idle())
    await asyncio.sleep(0)
    assert not idle.done()
    handled.gates["a1"].set()
    await asyncio.wait_for(idle, 1)
    await asyncio.gather(*tasks)
    assert processor._turns == {}  # no memory kept per chat once it is quiet


async def test_updates_without_a_chat_are_handled_too() -> None:
    processor = PerChatUpdateProcessor()
    done = asyncio.Event()

    async def work() -> None:
        done.set()

    await processor.process_update(object(), work())
    assert done.is_set()


# ---- through the running bot ---------------------------------------------------------

READER = 4242
GROUP = -4001
MEMBER = 502


async def test_a_readers_quick_commands_are_answered_in_the_order_typed(world: BotWorld) -> None:
    for text in ("/subscribe kinh tế", "/unsubscribe kinh tế", "/subscribe thời sự"):
        world.inject(READER, text)
    await world.barrier()
    assert [m.text for m in world.sent_to(READER)] == [
        t("vi", "subscribe.topic_added", topic="Kinh tế"),
        t("vi", "unsubscribe.topic_removed", topic="Kinh tế"),
        t("vi", "subscribe.topic_added", topic="Thời sự"),
    ]
    assert await world.db.subscribers.topic_subscriptions(READER) == ["thoi-su"]


async def test_a_slow_group_does_not_hold_up_a_private_reader(world: BotWorld) -> None:
    # Changing a group's topics asks Telegram whether the sender is an admin; that
    # answer is slow here. A private reader writing meanwhile is answered first.
    world.standin.set_admins(GROUP, [MEMBER])
    world.standin.fail_next("getChatMember", status=200, delay=0.5)
    world.inject(GROUP, "/subscribe kinh tế", user_id=MEMBER, chat_type="group")
    world.inject(READER, "/help")
    await world.barrier()
    order = [m.chat_id for m in world.standin.sent if m.chat_id in (GROUP, READER)]
    assert order == [READER, GROUP]
