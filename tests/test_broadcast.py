"""Admin broadcasts end to end: preview, confirm, delivery, progress, cancel, restart."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from bot.admin.broadcast import report_progress
from bot.holders import machine_name
from bot.text.htmltext import telegram_html_to_text
from bot.text.i18n import t
from tests.support.bot_world import BotWorld, open_world

ADMIN = 4242
READERS = list(range(10_001, 10_026))


async def admin_world(world: BotWorld) -> None:
    world.services.settings = dataclasses.replace(
        world.services.settings, admin_ids=frozenset({ADMIN})
    )
    for chat in READERS:
        await world.db.subscribers.ensure_subscriber(chat, now=world.clock.ts)


async def progress_text(world: BotWorld, broadcast_id: int) -> str:
    background = world.app.bot_data["background"]
    assert background.sender is not None

    async def vietnamese(_: int) -> str:
        return "vi"

    await report_progress(world.db, background.sender, now=world.clock.ts, language_of=vietnamese)
    row = await world.db.broadcasts.get(broadcast_id)
    assert row is not None and row.progress_message_id is not None
    return str(world.current(ADMIN, row.progress_message_id)["text"])


async def test_non_admin_is_refused(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        await admin_world(world)
        answer = await world.reply(READERS[0], "/broadcast Xin chào mọi người")

        assert answer.text == "Xin lỗi, lệnh này chỉ dành cho quản trị viên."
        assert await world.db.broadcasts.latest_running() is None


async def test_preview_confirm_deliver_and_report(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        await admin_world(world)
        preview, body, question = await world.say(
            ADMIN, "/broadcast Bảo trì hệ thống lúc 22:00 & sau đó", expect=3
        )
        # Everyone who has started the bot is a reader: the 25. The admin never did.
        assert "gửi tới 25 người (mọi người đọc)" in preview.text
        assert body.text == "Bảo trì hệ thống lúc 22:00 &amp; sau đó"
        assert question.button_data() == ["bc:yes:1", "bc:no:1"]
        assert all(world.sent_to(chat) == [] for chat in READERS)  # nothing before confirming

        await world.press(ADMIN, question.message_id, "bc:yes:1")
        await world.outbox_settled()

        for chat in READERS:
            assert [m.visible_text for m in world.sent_to(chat)] == [
                "Bảo trì hệ thống lúc 22:00 & sau đó"
            ]
        progress = await world.db.broadcasts.progress(1)
        assert progress.sent == progress.total == 25
        report = await progress_text(world, 1)
        assert report.startswith(
            f"✅ Thông báo #1 đã gửi xong: {progress.total}/{progress.total} tới nơi"
        )
        row = await world.db.broadcasts.get(1)
        assert row is not None and row.status == "done"

        # The confirmation's buttons are gone; a second confirm (a double tap that
        # raced the edit) queues no one twice.
        assert world.current(ADMIN, question.message_id).get("reply_markup") is None
        again = await world.db.broadcasts.confirm(
            1, progress_chat_id=ADMIN, progress_message_id=1, now=world.clock.ts
        )
        assert again is None


async def test_topic_broadcast_reaches_only_its_readers(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        await admin_world(world)
        followers = READERS[:3]
        for chat in followers:
            await world.db.subscribers.subscribe_topic(chat, "kinh-te", now=world.clock.ts)

        *_, question = await world.say(ADMIN, "/broadcast #kinh-te Hội thảo đầu tư", expect=3)
        assert "3 người (Kinh tế)" in question.text
        await world.press(ADMIN, question.message_id, "bc:yes:1")
        await world.outbox_settled()

        assert [chat for chat in READERS if world.sent_to(chat)] == followers


async def test_cancel_before_confirming_sends_nothing(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        await admin_world(world)
        *_, question = await world.say(ADMIN, "/broadcast Tin thử", expect=3)

        await world.press(ADMIN, question.message_id, "bc:no:1")
        late_confirm = await world.db.broadcasts.confirm(
            1, progress_chat_id=ADMIN, progress_message_id=1, now=world.clock.ts
        )
        await world.outbox_settled()

        assert late_confirm is None
        assert "Đã hủy thông báo #1" in str(world.current(ADMIN, question.message_id)["text"])

        assert all(world.sent_to(chat) == [] for chat in READERS)
        row = await world.db.broadcasts.get(1)
        assert row is not None and row.status == "cancelled"


async def test_blocked_readers_are_counted(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        await admin_world(world)
        for chat in READERS[:2]:
            world.standin.block(chat)
        *_, question = await world.say(ADMIN, "/broadcast Tin thử", expect=3)

        await world.press(ADMIN, question.message_id, "bc:yes:1")
        await world.outbox_settled()

        progress = await world.db.broadcasts.progress(1)
        report = await progress_text(world, 1)
        assert (progress.blocked, progress.failed, progress.pending) == (2, 0, 0)
        assert f"{progress.total - 2}/{progress.total} tới nơi · bị chặn 2 · lỗi 0" in report
        blocked = await world.db.subscribers.get_subscriber(READERS[0])
        assert blocked is not None and not blocked.active


async def test_cancel_a_running_broadcast(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        await admin_world(world)
        broadcast_id = await world.db.broadcasts.create_draft(
            admin_id=ADMIN, text="Tin", parse_mode="HTML", topic=None, now=world.clock.ts
        )
        # Queued for later, as a broadcast waits behind a long queue.
        await world.db.broadcasts.confirm(
            broadcast_id,
            progress_chat_id=ADMIN,
            progress_message_id=1,
            now=world.clock.ts + 3600,
        )

        answer = await world.reply(ADMIN, "/cancel_broadcast")

        assert answer.text == "Đã hủy thông báo #1. 25 người sẽ không nhận được nữa."
        assert (await world.db.outbox.counts_by_status()) == {"dropped": 25}


async def test_cancelling_a_draft_says_so_without_a_count(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        await admin_world(world)
        broadcast_id = await world.db.broadcasts.create_draft(
            admin_id=ADMIN, text="Tin", parse_mode="HTML", topic=None, now=world.clock.ts
        )
        answer = await world.reply(ADMIN, f"/cancel_broadcast {broadcast_id}")
        assert answer.text == f"Đã hủy thông báo #{broadcast_id}."


def exited_process_holder() -> str:
    """The holder name of a process on this machine that has ended."""
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{machine_name()}:{gone.stdout.strip()}:killed"


async def test_restart_mid_broadcast_resumes_without_duplicates(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        await admin_world(world)
        first_run_sent = READERS[:5]
        broadcast_id = await world.db.broadcasts.create_draft(
            admin_id=ADMIN, text="Tin", parse_mode="HTML", topic=None, now=world.clock.ts
        )
        # The first process got this far before it was killed: 5 sent, 5 in flight.
        await world.app.bot_data["background"].close(world.services)
        await world.db.broadcasts.confirm(
            broadcast_id,
            progress_chat_id=ADMIN,
            progress_message_id=1,
            now=world.clock.ts,
        )
        claimed = await world.db.outbox.claim_due(
            now=world.clock.ts, limit=10, holder=exited_process_holder()
        )
        for row in claimed:
            if row.chat_id in first_run_sent:
                await world.db.outbox.mark_sent(row.id, message_id=1, now=world.clock.ts)

    async with open_world(tmp_path) as restarted:
        await restarted.outbox_settled()

        receivers = [chat for chat in READERS if restarted.sent_to(chat)]
        assert receivers == READERS[5:]
        assert all(len(restarted.sent_to(chat)) == 1 for chat in receivers)
        assert (await restarted.db.outbox.counts_by_status()) == {"sent": 25}


async def test_a_broadcast_no_one_would_get_is_refused(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        await admin_world(world)  # readers, none following Khởi nghiệp
        answer = await world.reply(ADMIN, "/broadcast #khoi-nghiep Hội thảo khởi nghiệp")
        assert answer.text == t("vi", "broadcast.no_recipients")
        assert await world.db.broadcasts.get(1) is None


async def test_the_send_button_of_a_cancelled_broadcast_does_nothing(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        await admin_world(world)
        _, _, question = await world.say(ADMIN, "/broadcast Bảo trì lúc 22:00", expect=3)
        await world.say(ADMIN, "/cancel_broadcast", expect=2)  # the answer, and the edit

        shown = world.current(ADMIN, question.message_id)
        assert shown["text"] == telegram_html_to_text(t("vi", "broadcast.cancelled_nothing", id=1))
        assert not shown.get("reply_markup")  # the old buttons are gone at once
        await world.outbox_settled()
        assert all(world.sent_to(chat) == [] for chat in READERS)


async def test_a_send_button_pressed_after_cancel_does_nothing(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        await admin_world(world)
        _, _, question = await world.say(ADMIN, "/broadcast Bảo trì lúc 22:00", expect=3)
        # Cancelled elsewhere (another admin, another chat): this question kept its buttons.
        await world.db.broadcasts.cancel(1, now=world.clock.ts)
        await world.press(ADMIN, question.message_id, "bc:yes:1")
        await world.outbox_settled()

        shown = world.current(ADMIN, question.message_id)
        assert shown["text"] == telegram_html_to_text(t("vi", "broadcast.already", id=1))
        assert not shown.get("reply_markup")
        assert all(world.sent_to(chat) == [] for chat in READERS)


async def test_a_topic_is_named_as_the_admin_types_it(tmp_path: Path) -> None:
    async with open_world(tmp_path) as world:
        await admin_world(world)
        for chat in READERS[:3]:
            await world.db.subscribers.subscribe_topic(chat, "kinh-te", now=world.clock.ts)
        preview, body, _ = await world.say(ADMIN, "/broadcast #kinh tế Giá xăng tăng", expect=3)
        assert "gửi tới 3 người (Kinh tế)" in preview.text
        assert body.text == "Giá xăng tăng"

        unknown = await world.reply(ADMIN, "/broadcast #the-thao Bóng đá tối nay")
        assert unknown.text.startswith("Không có chủ đề <b>the-thao</b>. Các chủ đề: #thoi-su")
        assert "#kinh-te" in unknown.text
