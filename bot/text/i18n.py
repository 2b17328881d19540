"""Message catalogs. Every sentence a reader sees lives here, in Vietnamese and English.

Values are Telegram HTML templates: {placeholders} are filled with text that
the caller has already escaped (`t()` escapes every value it is given).
"""

from __future__ import annotations

import html

DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")

CATALOGS: dict[str, dict[str, str]] = {
    "vi": {
        "article.read_more": "Đọc tiếp",
        "article.source": "Nguồn",
        "article.published": "Đăng lúc",
        "article.topics": "Chủ đề",
        "article.keyword": "từ khóa",
        "start.hello_name": "Xin chào {name}! 👋",
        "start.hello": "Xin chào! 👋",
        "start.welcome": (
            "Mình gửi tin mới từ các báo Việt Nam theo chủ đề bạn chọn — ngay khi có bài, "
            "hoặc gom thành một bản tin mỗi ngày, vào giờ bạn muốn.\n\n"
            "Bấm chọn vài chủ đề bên dưới để bắt đầu (bấm lần nữa để bỏ). "
            "Gõ /help để xem các lệnh."
        ),
        "help": (
            "<b>Theo dõi</b>\n"
            "/subscribe — chọn chủ đề; <code>/subscribe giá vàng</code> để theo dõi từ khóa\n"
            "/unsubscribe — bỏ chủ đề hoặc từ khóa\n"
            "/mysubs — xem bạn đang theo dõi gì\n\n"
            "<b>Đọc tin</b>\n"
            "/search <i>từ khóa</i> — tìm tin cũ (gõ không dấu cũng được)\n"
            "/latest [chủ đề] — tin mới nhất\n"
            "@{bot} <i>từ khóa</i> — gõ ở bất kỳ cuộc trò chuyện nào để gửi tin cho bạn bè\n\n"
            "<b>Cài đặt</b>\n"
            "/settings — mọi cài đặt, bằng nút bấm\n"
            "/mode — nhận ngay hay gom thành bản tin: <code>/mode ngay</code>, <code>/mode bản tin</code>\n"
            "/digest — giờ nhận bản tin, ví dụ <code>/digest 18:30</code>\n"
            "/quiet — Không làm phiền, ví dụ <code>/quiet 22-6</code>\n"
            "/lang — ngôn ngữ: <code>/lang vi</code>, <code>/lang en</code>\n"
            "/stop — ngừng nhận tin và xóa dữ liệu của bạn"
        ),
        "help.admin": (
            "\n\n<b>Quản trị</b>\n"
            "/broadcast <i>nội dung</i> — gửi thông báo (<code>#chủ đề</code> để gửi một chủ đề)\n"
            "/cancel_broadcast — dừng thông báo đang gửi\n"
            "/channels — kênh, nhóm mình đăng bài; <code>/route</code> trong chủ đề diễn đàn\n"
            "/stats — thống kê và biểu đồ tuần qua\n"
            "/export — tải danh sách nguồn tin (tệp OPML)\n"
            "/import — thêm nguồn tin từ tệp OPML (gửi tệp kèm chú thích <code>/import</code>)"
        ),
        "subscribe.pick": "Chọn chủ đề bạn muốn nhận tin (bấm lần nữa để bỏ chọn):",
        "subscribe.topic_added": "✅ Đã theo dõi chủ đề <b>{topic}</b>.",
        "subscribe.topic_already": "Bạn đã theo dõi chủ đề <b>{topic}</b> rồi.",
        "subscribe.keyword_added": (
            "Đã theo dõi từ khóa <b>{phrase}</b>. Có bài mới nhắc tới nó "
            "(có dấu hay không đều được), mình sẽ gửi bạn ngay."
        ),
        "subscribe.keyword_exists": "Bạn đã theo dõi từ khóa <b>{phrase}</b> rồi.",
        "subscribe.did_you_mean": "Ý bạn là chủ đề <b>{topic}</b>?",
        "button.follow_topic": "✅ Theo dõi chủ đề {topic}",
        "button.follow_keyword": "🔔 Theo dõi từ khóa “{phrase}”",
        "subscribe.too_many_topics": "Bạn đã theo dõi đủ {limit} chủ đề rồi. Bỏ bớt bằng /unsubscribe nhé.",
        "subscribe.too_many_keywords": (
            "Bạn đã theo dõi đủ {limit} từ khóa. Bỏ bớt bằng /unsubscribe nhé."
        ),
        "subscribe.keyword_too_short": "Từ khóa cần ít nhất 2 chữ cái hoặc chữ số nhé.",
        "unsubscribe.pick": "Chọn mục bạn muốn bỏ theo dõi:",
        "unsubscribe.topic_removed": "Đã bỏ theo dõi chủ đề <b>{topic}</b>.",
        "unsubscribe.keyword_removed": "Đã bỏ theo dõi từ khóa <b>{phrase}</b>.",
        "unsubscribe.not_found": "Bạn chưa theo dõi <b>{what}</b>.",
        "unsubscribe.nothing": "Bạn chưa theo dõi gì. Gõ /subscribe để chọn chủ đề.",
        "mysubs.header": "<b>Bạn đang theo dõi</b>",
        "mysubs.topics": "Chủ đề: {topics}",
        "mysubs.keywords": "Từ khóa: {keywords}",
        "mysubs.none": "—",
        "mysubs.mode_instant": "Nhận tin: ngay khi có bài mới",
        "mysubs.mode_digest": "Nhận tin: bản tin lúc {hour} mỗi ngày",
        "mysubs.empty": "Bạn chưa theo dõi gì. Gõ /subscribe để chọn chủ đề.",
        "button.remove": "❌ {what}",
        "search.usage": "Bạn muốn tìm gì? Ví dụ: <code>/search giá vàng</code>",
        "search.none": "Mình chưa tìm thấy bài nào cho <b>{query}</b>. Bạn thử bớt vài từ nhé.",
        "search.header": "Kết quả cho <b>{query}</b> ({first}–{last}):",
        "search.header_one": "Tìm thấy 1 bài cho <b>{query}</b>:",
        "search.none_short": "Mình chưa tìm thấy bài nào cho <b>{query}</b>. Bạn gõ cụ thể hơn một chút nhé.",
        "search.more": "Xem thêm ▶",
        "search.previous": "◀ Trước",
        "search.expired": "Kết quả này đã cũ, bạn tìm lại giúp mình nhé.",
        "latest.header": "<b>Tin mới nhất</b>",
        "latest.header_topic": "<b>Tin mới nhất — {topic}</b>",
        "latest.none": "Chưa có bài nào.",
        "latest.unknown_topic": "Mình không có chủ đề <b>{topic}</b>. Bạn chọn một trong: {topics}",
        "settings.header": (
            "<b>Cài đặt</b>\n"
            "• Nhận tin: {mode}\n"
            "• Giờ nhận bản tin: {hour}\n"
            "• Ngôn ngữ: {language_name}\n"
            "• Không làm phiền: {quiet}\n"
            "• Tin mới không chuông: {silent}"
        ),
        "settings.silent_off": "tắt",
        "settings.silent_night": "ban đêm (22:00–06:00)",
        "settings.silent_always": "luôn luôn",
        "settings.pick_quiet": "Không làm phiền lúc nào? Tin đến trong giờ này, mình gửi sau.",
        "settings.pick_silent": "Khi nào tin mới đến mà không đổ chuông? (Tin vẫn hiện trong cuộc trò chuyện.)",
        "settings.pick_minute": "Mấy giờ mấy phút?",
        "settings.silent_set_off": "Tin mới sẽ đổ chuông như thường.",
        "settings.silent_set_night": "Từ 22:00 đến 06:00, tin mới đến sẽ không đổ chuông.",
        "settings.silent_set_always": "Tin mới sẽ luôn đến mà không đổ chuông.",
        "button.quiet": "🌙 Không làm phiền",
        "button.quiet_off": "Tắt Không làm phiền",
        "button.silent": "🔕 Không chuông",
        "button.silent_off": "🔔 Có chuông",
        "button.silent_night": "🌙 Không chuông ban đêm",
        "button.silent_always": "🔕 Luôn không chuông",
        "button.back": "◀ Quay lại",
        "settings.mode_instant": "ngay khi có bài",
        "settings.mode_digest": "bản tin hằng ngày",
        "settings.quiet_off": "tắt",
        "settings.quiet_range": "{start}–{end}",
        "settings.language_name": "Tiếng Việt",
        "button.mode_instant": "⚡ Nhận ngay",
        "button.mode_digest": "📰 Bản tin hằng ngày",
        "button.digest_hour": "🕖 Giờ nhận bản tin",
        "button.language": "🇬🇧 English",
        "settings.mode_set_instant": "Từ giờ bạn sẽ nhận tin ngay khi có bài mới.",
        "settings.mode_set_digest": "Từ giờ bạn sẽ nhận một bản tin lúc {hour} mỗi ngày, bắt đầu từ {first}.",
        "settings.first_today": "hôm nay",
        "settings.first_tomorrow": "ngày mai",
        "settings.digest_set_instant_short": "Đã đặt giờ bản tin là {hour}. Bạn đang nhận tin ngay khi có bài.",
        "settings.pick_hour": "Bạn muốn nhận bản tin lúc mấy giờ?",
        "settings.digest_set": "Bạn sẽ nhận bản tin lúc {hour} mỗi ngày, bắt đầu từ {first}.",
        "settings.digest_set_instant": "Đã đặt giờ bản tin là {hour}. Bạn đang nhận tin ngay khi có bài nên chưa có bản tin — muốn chuyển sang bản tin hằng ngày không?",
        "settings.digest_usage": "Bạn muốn nhận bản tin lúc mấy giờ? Ví dụ: <code>/digest 7</code>, <code>/digest 18:30</code> hoặc <code>/digest 6h30</code>.",
        "settings.language_set": "Đã chuyển sang tiếng Việt.",
        "settings.language_usage": "Cách dùng: <code>/lang vi</code> hoặc <code>/lang en</code>.",
        "settings.mode_usage": "Cách dùng: <code>/mode ngay</code> (nhận ngay khi có bài) hoặc <code>/mode bản tin</code> (mỗi ngày một bản tin).",
        "settings.quiet_set": "Không làm phiền từ {start} đến {end}: tin đến trong giờ này, mình gửi sau.",
        "settings.quiet_off_set": "Đã tắt Không làm phiền.",
        "settings.quiet_usage": "Cách dùng: <code>/quiet 22-6</code> hoặc <code>/quiet tắt</code>.",
        "stop.confirm": (
            "Bạn chắc chắn muốn ngừng nhận tin? Mình sẽ xóa mọi chủ đề, từ khóa và cài đặt của bạn."
        ),
        "button.stop_yes": "Có, dừng lại",
        "button.stop_no": "Không",
        "stop.done": "Đã dừng và xóa dữ liệu của bạn. Gõ /start bất cứ lúc nào để quay lại. 👋",
        "stop.cancelled": "Tốt quá, bạn vẫn tiếp tục nhận tin.",
        "fallback.unknown_command": "Mình chưa hiểu lệnh này. Gõ /help để xem các lệnh.",
        "fallback.text_is_search": "💡 Bạn gõ gì, mình tìm tin nấy — không cần /search.",
        "limit.slow_down": "Bạn thao tác hơi nhanh, đợi vài giây rồi thử lại nhé.",
        "limit.too_long": "Nội dung dài quá (tối đa {limit} ký tự).",
        "group.admins_only": "Chỉ quản trị viên của nhóm mới thay đổi được những gì nhóm theo dõi.",
        "error.generic": "Xin lỗi, có lỗi xảy ra. Bạn thử lại sau ít phút nhé.",
        "admin.not_allowed": "Xin lỗi, lệnh này chỉ dành cho quản trị viên.",
        "broadcast.usage": (
            "Cách dùng: <code>/broadcast nội dung</code> gửi tới mọi người đọc, "
            "<code>/broadcast #kinh-te nội dung</code> gửi tới một chủ đề; "
            "thêm <code>+kênh</code> ở đầu để gửi cả lên các kênh, nhóm đăng bài, "
            "<code>@kênh</code> để chỉ gửi lên đó; "
            "hoặc trả lời một tin nhắn bằng <code>/broadcast</code>."
        ),
        "broadcast.unknown_topic": "Không có chủ đề <b>{topic}</b>. Các chủ đề: {topics}",
        "broadcast.everyone": "mọi người đọc",
        "broadcast.preview": "<b>Xem trước thông báo #{id}</b> — gửi tới {count} người ({audience}):",
        "broadcast.confirm_question": "Gửi thông báo #{id} tới {count} người ({audience})?",
        "button.broadcast_confirm": "✅ Gửi",
        "button.broadcast_cancel": "✖️ Hủy",
        "broadcast.started": "📣 Đang gửi thông báo #{id} tới {count} người…",
        "broadcast.progress": "📣 Thông báo #{id}: đã gửi {sent}/{total} · bị chặn {blocked} · lỗi {failed} · còn {pending}",
        "broadcast.done": "✅ Thông báo #{id} đã gửi xong: {sent}/{total} tới nơi · bị chặn {blocked} · lỗi {failed}.",
        "broadcast.cancelled_report": "⏹ Thông báo #{id} đã dừng: đã gửi {sent}/{total} · bị chặn {blocked} · lỗi {failed}.",
        "broadcast.cancelled": "Đã hủy thông báo #{id}. {dropped} người sẽ không nhận được nữa.",
        "broadcast.cancelled_nothing": "Đã hủy thông báo #{id}.",
        "stats.feeds_ok": "{count} ổn",
        "stats.feeds_new": "{count} mới",
        "stats.feeds_failing": "{count} đang lỗi",
        "stats.feeds_paused": "{count} tạm dừng",
        "broadcast.not_running": "Không có thông báo nào đang chờ hoặc đang gửi.",
        "broadcast.no_recipients": "Chưa có ai để nhận thông báo này nên mình không tạo nó.",
        "broadcast.already": "Thông báo #{id} đã được xử lý rồi.",
        "stats.text": (
            "<b>Thống kê</b>\n"
            "Bài viết: {articles_today} hôm nay · {articles} tất cả\n"
            "Người đọc: {active} đang nhận ({instant} nhận ngay · {digest} bản tin) · "
            "{inactive} đã chặn hoặc rời đi\n"
            "Theo chủ đề: {topics}\n"
            "Nguồn tin: {feeds}\n"
            "Lỗi hay gặp: {causes}\n"
            "Hàng đợi: {backlog} chờ gửi · {failed} lỗi\n"
            "Đã gửi hôm nay: {sent_today}"
        ),
        "stats.cause.timeout": "quá giờ chờ",
        "stats.cause.http_status": "trang báo lỗi",
        "stats.cause.too_large": "tệp quá lớn",
        "stats.cause.blocked_address": "địa chỉ bị chặn",
        "stats.cause.too_many_redirects": "chuyển hướng quá nhiều",
        "stats.cause.connection": "không kết nối được",
        "stats.cause.anti_bot": "bị chặn chống bot",
        "stats.cause.invalid_url": "địa chỉ sai",
        "stats.cause.not_a_feed": "không phải nguồn tin",
        "stats.cause.robots_disallowed": "robots.txt không cho phép",
        "stats.paused_feeds": "Nguồn tin tạm dừng vì lỗi:",
        "chart.title": "Newsbot — {days} ngày qua",
        "chart.today": "Hôm nay",
        "chart.stored": "Bài mới lưu mỗi ngày",
        "chart.sent": "Tin đã gửi mỗi ngày",
        "chart.failing": "Nguồn đang lỗi: {count}",
        "chart.no_failing": "Mọi nguồn tin đều ổn",
        "chart.paused": "tạm dừng",
        "chart.more": "… và {count} nguồn khác",
        "opml.import_usage": (
            "Bạn gửi tệp OPML cho mình, chú thích là <code>/import</code> "
            "(thêm chủ đề nếu muốn, ví dụ <code>/import kinh-te</code>); "
            "hoặc trả lời tin nhắn có tệp bằng <code>/import</code>."
        ),
        "opml.too_large": "Tệp lớn quá, tối đa {limit} MB.",
        "opml.not_xml": "Tệp này không phải XML hợp lệ (dòng {line}, cột {column}).",
        "opml.entities": "Tệp này có khai báo thực thể XML; để an toàn, mình không đọc loại tệp này.",
        "opml.not_opml": "Tệp này không phải OPML.",
        "opml.too_many": "Tệp có {count} nguồn tin mới; mỗi lần chỉ thêm tối đa {limit}, bạn chia nhỏ tệp giúp mình nhé.",
        "opml.unknown_topic": "Không có chủ đề “{topic}”. Các chủ đề: {topics}",
        "opml.report": "📥 Đã thêm {added} nguồn tin, bỏ qua {skipped}.",
        "opml.more": "… và {count} mục nữa.",
        "opml.ignored_topics": "Bỏ qua các chủ đề không có ở đây: {topics}",
        "opml.export_caption": "📤 {count} nguồn tin, ngày {date}.",
        "opml.export_empty": "Chưa có nguồn tin nào để xuất.",
        "opml.skip.no_url": "không có địa chỉ nguồn tin (xmlUrl)",
        "opml.skip.not_http": "không phải địa chỉ http(s)",
        "opml.skip.duplicate": "trùng một mục phía trên trong tệp",
        "opml.skip.known": "đã có rồi (nguồn #{id})",
        "opml.skip.removed": "nguồn #{id} đã bị gỡ trước đây; bật lại bằng <code>newsbot feeds add</code>",
        "opml.skip.unknown_topic": "không có chủ đề “{topic}”",
        "opml.skip.no_topic": "chưa có chủ đề (hãy ghi một chủ đề cho cả tệp)",
        "opml.skip.bad_rule": "quy tắc tìm bài không dùng được: {detail}",
        "opml.skip.bad_kind": "loại nguồn “{kind}” không hợp lệ (chỉ có <code>feed</code> hoặc <code>site</code>)",
        "feed.paused_notice": "⚠️ Nguồn tin <b>{name}</b> đã tạm dừng sau {failures} lần lỗi liên tiếp ({kind}: {detail}). Dùng <code>newsbot feeds resume {id}</code> để bật lại.",
        "destination.paused_notice": (
            "⏸ Mình đã tạm dừng đăng bài lên <b>{name}</b>: {reason}.\n"
            "<i>Telegram báo: {detail}</i>\n"
            "Sửa xong thì gửi <code>/channel_resume {id}</code> để đăng tiếp."
        ),
        "destination.cause_kicked": "mình đã bị mời ra khỏi đó",
        "destination.cause_rights": "mình không còn quyền đăng bài ở đó",
        "destination.cause_not_found": "Telegram không tìm thấy kênh hay nhóm này nữa",
        "destination.cause_topic_closed": "chủ đề diễn đàn đã bị đóng",
        "destination.cause_topic_deleted": "chủ đề diễn đàn đã bị xóa",
        "destination.cause_admin": "quản trị viên đã tạm dừng",
        "destination.kind_channel": "kênh",
        "destination.kind_group": "nhóm",
        "destination.kind_supergroup": "nhóm",
        "destination.kind_topic": "chủ đề diễn đàn",
        "destination.added": (
            "📢 Mình vừa được thêm làm quản trị viên của {kind} <b>{name}</b>. "
            "Chọn chủ đề muốn đăng lên đó (bấm lần nữa để bỏ):"
        ),
        "destination.picker": "Chủ đề đăng lên <b>{name}</b> (bấm lần nữa để bỏ):",
        "destination.route_pick": "Chọn chủ đề sẽ đăng vào đây (bấm lần nữa để bỏ):",
        "destination.routed": "✅ Từ giờ mình đăng tin {topics} vào chủ đề này.",
        "destination.route_unknown": "Không có chủ đề <b>{words}</b>. Các chủ đề: {topics}",
        "destination.route_not_forum": "Hãy gửi /route bên trong một chủ đề của nhóm diễn đàn.",
        "destination.none": (
            "Chưa có kênh hay nhóm nào để đăng bài. Thêm mình làm quản trị viên của một kênh "
            "hoặc nhóm, hay gửi /route trong một chủ đề diễn đàn."
        ),
        "destination.list_header": "<b>📢 Nơi đăng bài</b>",
        "destination.list_line": "<b>#{id} {name}</b> ({kind}) · bài gần nhất: {last}",
        "destination.no_topics": "chưa chọn chủ đề",
        "destination.sources": "{count} nguồn riêng",
        "destination.never_posted": "chưa có",
        "destination.paused_line": "⏸ tạm dừng: {reason}",
        "destination.list_help": (
            "/channel_topics <i>số</i> — chọn chủ đề · /channel_pause, /channel_resume, "
            "/channel_remove <i>số</i>"
        ),
        "destination.not_found": "Không có nơi đăng bài #{id}. Gửi /channels để xem danh sách.",
        "destination.usage": (
            "Hãy ghi số của nơi đăng bài, ví dụ <code>{command} 1</code>. "
            "Gửi /channels để xem danh sách."
        ),
        "destination.paused": "⏸ Đã tạm dừng đăng lên <b>{name}</b>.",
        "destination.already_paused": "<b>{name}</b> đang tạm dừng rồi.",
        "destination.resumed": "▶️ Mình sẽ đăng tiếp lên <b>{name}</b>, từ bài mới.",
        "destination.not_paused": "<b>{name}</b> vẫn đang đăng bình thường.",
        "destination.removed": "🗑 Đã bỏ <b>{name}</b>. Mình không đăng lên đó nữa.",
        "destination.removed_config": (
            "🗑 Đã bỏ <b>{name}</b>. Nơi này có trong <code>feeds.toml</code> nên sẽ quay lại khi bot "
            "khởi động lại, trừ khi bạn xóa nó khỏi tệp."
        ),
        "destination.saved": "Đã lưu.",
        "button.dest_photo": "🖼 Đăng kèm ảnh",
        "button.dest_text": "📝 Chữ và xem trước",
        "button.dest_hashtags": "Hashtag",
        "button.dest_silent": "🔕 Im lặng",
        "stats.destinations": "Nơi đăng bài:",
        "stats.destination_line": "#{id} {name} · bài gần nhất: {last}",
        "broadcast.everyone_and_channels": "mọi người đọc và các kênh, nhóm đăng bài",
        "broadcast.channels_only": "chỉ các kênh, nhóm đăng bài",
        "feed.moved_notice": "↪️ Nguồn tin <b>{name}</b> đã chuyển địa chỉ. Mình đã cập nhật sang địa chỉ mới:\n{url}\n(địa chỉ cũ: {old})",
        "digest.header": "<b>☀️ Bản tin ngày {date}</b>",
        "digest.continued": "<i>(tiếp theo)</i>",
        "digest.nothing_new": "Chưa có tin mới nào cho bản tin của bạn.",
        "digest.on_its_way": "Bản tin đang được gửi tới bạn.",
        "button.digest_now": "📨 Gửi bản tin ngay",
        "button.unfollow_topic": "🔕 Bỏ theo dõi {topic}",
        "button.unfollow_this_topic": "🔕 Bỏ theo dõi chủ đề này",
        "button.unfollow_keyword": "🔕 Bỏ từ khóa “{keyword}”",
        "button.related": "🔎 Tin tương tự",
        "button.undo": "↩️ Hoàn tác",
        "alert.unfollowed_topic": "Đã bỏ theo dõi {topic}. Nhầm thì bấm Hoàn tác nhé.",
        "alert.unfollowed_keyword": "Đã bỏ từ khóa “{keyword}”. Nhầm thì bấm Hoàn tác nhé.",
        "alert.undone": "Đã theo dõi lại như cũ.",
        "alert.nothing_to_unfollow": "Bạn không còn theo dõi mục này nữa.",
        "alert.related_header": "<b>Tin tương tự</b>",
        "alert.related_none": "Mình chưa tìm thấy tin nào tương tự.",
        "command.start": "Bắt đầu và chọn chủ đề",
        "command.subscribe": "Theo dõi chủ đề hoặc từ khóa",
        "command.unsubscribe": "Bỏ theo dõi",
        "command.mysubs": "Bạn đang theo dõi gì",
        "command.search": "Tìm tin (không dấu cũng được)",
        "command.latest": "Tin mới nhất",
        "command.settings": "Cài đặt nhận tin và ngôn ngữ",
        "command.help": "Các lệnh",
        "command.stop": "Ngừng nhận tin",
    },
    "en": {
        "article.read_more": "Read more",
        "article.source": "Source",
        "article.published": "Published",
        "article.topics": "Topics",
        "article.keyword": "keyword",
        "start.hello_name": "Hello {name}! 👋",
        "start.hello": "Hello! 👋",
        "start.welcome": (
            "I send you new articles from Vietnamese news sites on the topics you pick — "
            "as soon as they appear, or as one digest a day, at the time you choose.\n\n"
            "Tap a few topics below to begin (tap again to drop one). "
            "Type /help to see every command."
        ),
        "help": (
            "<b>Follow</b>\n"
            "/subscribe — pick topics; <code>/subscribe gold price</code> to follow a keyword\n"
            "/unsubscribe — drop a topic or a keyword\n"
            "/mysubs — what you follow\n\n"
            "<b>Read</b>\n"
            "/search <i>words</i> — search past news (accents optional)\n"
            "/latest [topic] — the newest articles\n"
            "@{bot} <i>words</i> — type it in any chat to share an article\n\n"
            "<b>Settings</b>\n"
            "/settings — every setting, with buttons\n"
            "/mode — at once or one digest a day: <code>/mode instant</code>, <code>/mode digest</code>\n"
            "/digest — the digest time, e.g. <code>/digest 18:30</code>\n"
            "/quiet — do not disturb, e.g. <code>/quiet 22-6</code>\n"
            "/lang — language: <code>/lang vi</code>, <code>/lang en</code>\n"
            "/stop — stop all messages and delete your data"
        ),
        "help.admin": (
            "\n\n<b>Admin</b>\n"
            "/broadcast <i>text</i> — send an announcement (<code>#topic</code> for one topic)\n"
            "/cancel_broadcast — stop the running announcement\n"
            "/channels — channels and groups I post to; <code>/route</code> in a forum topic\n"
            "/stats — figures and a chart of the last week\n"
            "/export — the sources as an OPML file\n"
            "/import — add sources from an OPML file (send it captioned <code>/import</code>)"
        ),
        "subscribe.pick": "Pick the topics you want news about (tap again to drop one):",
        "subscribe.topic_added": "✅ You now follow <b>{topic}</b>.",
        "subscribe.topic_already": "You already follow <b>{topic}</b>.",
        "subscribe.keyword_added": (
            "You now follow the keyword <b>{phrase}</b>. When a new article mentions it "
            "(with or without accents), I will send it to you."
        ),
        "subscribe.keyword_exists": "You already follow the keyword <b>{phrase}</b>.",
        "subscribe.did_you_mean": "Did you mean the topic <b>{topic}</b>?",
        "button.follow_topic": "✅ Follow {topic}",
        "button.follow_keyword": "🔔 Follow the keyword “{phrase}”",
        "subscribe.too_many_topics": "You follow the maximum of {limit} topics. Drop some with /unsubscribe.",
        "subscribe.too_many_keywords": (
            "You already follow {limit} keywords, the most there can be. Drop some with /unsubscribe."
        ),
        "subscribe.keyword_too_short": "A keyword needs at least 2 letters or digits.",
        "unsubscribe.pick": "Pick what you want to stop following:",
        "unsubscribe.topic_removed": "You no longer follow <b>{topic}</b>.",
        "unsubscribe.keyword_removed": "You no longer follow the keyword <b>{phrase}</b>.",
        "unsubscribe.not_found": "You do not follow <b>{what}</b>.",
        "unsubscribe.nothing": "You do not follow anything yet. Type /subscribe to pick topics.",
        "mysubs.header": "<b>You follow</b>",
        "mysubs.topics": "Topics: {topics}",
        "mysubs.keywords": "Keywords: {keywords}",
        "mysubs.none": "—",
        "mysubs.mode_instant": "Delivery: as soon as articles appear",
        "mysubs.mode_digest": "Delivery: a digest at {hour} every day",
        "mysubs.empty": "You do not follow anything yet. Type /subscribe to pick topics.",
        "button.remove": "❌ {what}",
        "search.usage": "What are you looking for? For example: <code>/search gia vang</code>",
        "search.none": "I found nothing for <b>{query}</b>. Try fewer words.",
        "search.header": "Results for <b>{query}</b> ({first}–{last}):",
        "search.header_one": "One article for <b>{query}</b>:",
        "search.none_short": "I found nothing for <b>{query}</b>. Try a more specific word.",
        "search.more": "More ▶",
        "search.previous": "◀ Back",
        "search.expired": "These results are out of date; please search again.",
        "latest.header": "<b>Latest news</b>",
        "latest.header_topic": "<b>Latest news — {topic}</b>",
        "latest.none": "No articles yet.",
        "latest.unknown_topic": "There is no topic <b>{topic}</b>. Topics: {topics}",
        "settings.header": (
            "<b>Settings</b>\n"
            "• Delivery: {mode}\n"
            "• Digest time: {hour}\n"
            "• Language: {language_name}\n"
            "• Quiet hours: {quiet}\n"
            "• Silent alerts: {silent}"
        ),
        "settings.silent_off": "off",
        "settings.silent_night": "at night (22:00–06:00)",
        "settings.silent_always": "always",
        "settings.pick_quiet": "When should I hold alerts? They arrive after the quiet hours.",
        "settings.pick_silent": "Alerts that arrive without a sound (still shown in the chat):",
        "settings.pick_minute": "And the minutes?",
        "settings.silent_set_off": "Alerts make a sound as usual.",
        "settings.silent_set_night": "At night (22:00–06:00) alerts arrive without a sound.",
        "settings.silent_set_always": "Alerts always arrive without a sound.",
        "button.quiet": "🌙 Quiet hours",
        "button.quiet_off": "Quiet hours off",
        "button.silent": "🔕 Silent alerts",
        "button.silent_off": "🔔 With sound",
        "button.silent_night": "🌙 Silent at night",
        "button.silent_always": "🔕 Always silent",
        "button.back": "◀ Back",
        "settings.mode_instant": "instant",
        "settings.mode_digest": "daily digest",
        "settings.quiet_off": "off",
        "settings.quiet_range": "{start}–{end}",
        "settings.language_name": "English",
        "button.mode_instant": "⚡ Instant",
        "button.mode_digest": "📰 Daily digest",
        "button.digest_hour": "🕖 Digest time",
        "button.language": "🇻🇳 Tiếng Việt",
        "settings.mode_set_instant": "From now on you get articles as soon as they appear.",
        "settings.mode_set_digest": "From now on you get one digest at {hour} every day, starting {first}.",
        "settings.first_today": "today",
        "settings.first_tomorrow": "tomorrow",
        "settings.digest_set_instant_short": "Digest time set to {hour}. You get news as it comes.",
        "settings.pick_hour": "At what time would you like your digest?",
        "settings.digest_set": "You will get your digest at {hour} every day, starting {first}.",
        "settings.digest_set_instant": "Digest time set to {hour}. You get news as it comes, so there is no digest yet — switch to a daily digest?",
        "settings.digest_usage": "At what time? For example <code>/digest 7</code>, <code>/digest 18:30</code> or <code>/digest 6:05</code>.",
        "settings.language_set": "Switched to English.",
        "settings.language_usage": "Usage: <code>/lang vi</code> or <code>/lang en</code>.",
        "settings.mode_usage": "Usage: <code>/mode instant</code> or <code>/mode digest</code>.",
        "settings.quiet_set": "Quiet hours: {start}–{end}. Articles arriving then wait until after.",
        "settings.quiet_off_set": "Quiet hours are off.",
        "settings.quiet_usage": "Usage: <code>/quiet 22-6</code> or <code>/quiet off</code>.",
        "stop.confirm": "Stop all messages? I will delete your topics, keywords and settings.",
        "button.stop_yes": "Yes, stop",
        "button.stop_no": "No",
        "stop.done": "Stopped, and your data is deleted. Type /start any time to come back. 👋",
        "stop.cancelled": "Great, you keep getting the news.",
        "fallback.unknown_command": "I do not know that command. Type /help to see the commands.",
        "fallback.text_is_search": "💡 Whatever you type, I search the news for it — no /search needed.",
        "limit.slow_down": "You are going a little fast; please wait a few seconds and try again.",
        "limit.too_long": "That is too long (at most {limit} characters).",
        "group.admins_only": "Only the group's admins can change what the group follows.",
        "error.generic": "Sorry, something went wrong. Please try again in a few minutes.",
        "admin.not_allowed": "Sorry, only admins can use this command.",
        "broadcast.usage": (
            "Usage: <code>/broadcast text</code> to every reader, "
            "<code>/broadcast #kinh-te text</code> to one topic; "
            "start with <code>+kênh</code> to post it to the destinations too, "
            "<code>@kênh</code> to post it there only; "
            "or reply to a message with <code>/broadcast</code>."
        ),
        "broadcast.unknown_topic": "There is no topic <b>{topic}</b>. The topics: {topics}",
        "broadcast.everyone": "every reader",
        "broadcast.preview": "<b>Preview of announcement #{id}</b> — to {count} readers ({audience}):",
        "broadcast.confirm_question": "Send announcement #{id} to {count} readers ({audience})?",
        "button.broadcast_confirm": "✅ Send",
        "button.broadcast_cancel": "✖️ Cancel",
        "broadcast.started": "📣 Sending announcement #{id} to {count} readers…",
        "broadcast.progress": "📣 Announcement #{id}: sent {sent}/{total} · blocked {blocked} · failed {failed} · left {pending}",
        "broadcast.done": "✅ Announcement #{id} finished: {sent}/{total} delivered · blocked {blocked} · failed {failed}.",
        "broadcast.cancelled_report": "⏹ Announcement #{id} stopped: sent {sent}/{total} · blocked {blocked} · failed {failed}.",
        "broadcast.cancelled": "Announcement #{id} cancelled. {dropped} readers will not get it.",
        "broadcast.cancelled_nothing": "Announcement #{id} cancelled.",
        "stats.feeds_ok": "{count} healthy",
        "stats.feeds_new": "{count} new",
        "stats.feeds_failing": "{count} failing",
        "stats.feeds_paused": "{count} paused",
        "broadcast.not_running": "No announcement is waiting or being sent.",
        "broadcast.no_recipients": "No one would receive this announcement, so it was not created.",
        "broadcast.already": "Announcement #{id} was already handled.",
        "stats.text": (
            "<b>Statistics</b>\n"
            "Articles: {articles_today} today · {articles} in all\n"
            "Readers: {active} active ({instant} instant · {digest} digest) · "
            "{inactive} blocked or gone\n"
            "By topic: {topics}\n"
            "Feeds: {feeds}\n"
            "Top causes: {causes}\n"
            "Queue: {backlog} waiting · {failed} failed\n"
            "Sent today: {sent_today}"
        ),
        "stats.cause.timeout": "timeout",
        "stats.cause.http_status": "HTTP error",
        "stats.cause.too_large": "too large",
        "stats.cause.blocked_address": "blocked address",
        "stats.cause.too_many_redirects": "too many redirects",
        "stats.cause.connection": "no connection",
        "stats.cause.anti_bot": "anti-bot wall",
        "stats.cause.invalid_url": "invalid URL",
        "stats.cause.not_a_feed": "not a feed",
        "stats.cause.robots_disallowed": "robots.txt disallows",
        "stats.paused_feeds": "Feeds paused for failing:",
        "chart.title": "Newsbot — the last {days} days",
        "chart.today": "Today",
        "chart.stored": "New articles stored per day",
        "chart.sent": "Messages sent per day",
        "chart.failing": "Failing sources: {count}",
        "chart.no_failing": "Every source is healthy",
        "chart.paused": "paused",
        "chart.more": "… and {count} more",
        "opml.import_usage": (
            "Send me an OPML file with the caption <code>/import</code> "
            "(add a topic if you like: <code>/import kinh-te</code>), "
            "or reply to a message with the file with <code>/import</code>."
        ),
        "opml.too_large": "The file is too large: {limit} MB at most.",
        "opml.not_xml": "This file is not well-formed XML (line {line}, column {column}).",
        "opml.entities": "This file declares XML entities; for safety such files are not read.",
        "opml.not_opml": "This file is not OPML.",
        "opml.too_many": "The file has {count} new sources; at most {limit} can be added at a time, so split it up.",
        "opml.unknown_topic": "There is no topic “{topic}”. Topics: {topics}",
        "opml.report": "📥 Added {added} sources, skipped {skipped}.",
        "opml.more": "… and {count} more.",
        "opml.ignored_topics": "Topics not known here were ignored: {topics}",
        "opml.export_caption": "📤 {count} sources, {date}.",
        "opml.export_empty": "There are no sources to export yet.",
        "opml.skip.no_url": "no feed address (xmlUrl)",
        "opml.skip.not_http": "not an http(s) address",
        "opml.skip.duplicate": "listed twice in the file",
        "opml.skip.known": "already a source (#{id})",
        "opml.skip.removed": "source #{id} was removed earlier; <code>newsbot feeds add</code> brings it back",
        "opml.skip.unknown_topic": "no topic “{topic}” here",
        "opml.skip.no_topic": "no topic (name one for the whole file)",
        "opml.skip.bad_rule": "unusable link rule: {detail}",
        "opml.skip.bad_kind": "unknown kind “{kind}” (<code>feed</code> or <code>site</code>)",
        "feed.paused_notice": "⚠️ Feed <b>{name}</b> was paused after {failures} failures in a row ({kind}: {detail}). Use <code>newsbot feeds resume {id}</code> to turn it back on.",
        "destination.paused_notice": (
            "⏸ I stopped posting to <b>{name}</b>: {reason}.\n"
            "<i>Telegram said: {detail}</i>\n"
            "Once it is fixed, send <code>/channel_resume {id}</code> to post again."
        ),
        "destination.cause_kicked": "the bot was removed from it",
        "destination.cause_rights": "the bot may no longer post there",
        "destination.cause_not_found": "Telegram cannot find that channel or group any more",
        "destination.cause_topic_closed": "the forum topic was closed",
        "destination.cause_topic_deleted": "the forum topic was deleted",
        "destination.cause_admin": "an admin paused it",
        "destination.kind_channel": "channel",
        "destination.kind_group": "group",
        "destination.kind_supergroup": "group",
        "destination.kind_topic": "forum topic",
        "destination.added": (
            "📢 I was just made an administrator of the {kind} <b>{name}</b>. "
            "Pick the topics to post there (tap again to remove):"
        ),
        "destination.picker": "Topics posted to <b>{name}</b> (tap again to remove):",
        "destination.route_pick": "Pick the topics to post here (tap again to remove):",
        "destination.routed": "✅ From now on I post {topics} news in this topic.",
        "destination.route_unknown": "There is no topic <b>{words}</b>. The topics: {topics}",
        "destination.route_not_forum": "Send /route inside a topic of a forum group.",
        "destination.none": (
            "No channel or group to post to yet. Make me an administrator of a channel or "
            "group, or send /route in a forum topic."
        ),
        "destination.list_header": "<b>📢 Where I post</b>",
        "destination.list_line": "<b>#{id} {name}</b> ({kind}) · last post: {last}",
        "destination.no_topics": "no topics yet",
        "destination.sources": "{count} single sources",
        "destination.never_posted": "none yet",
        "destination.paused_line": "⏸ paused: {reason}",
        "destination.list_help": (
            "/channel_topics <i>number</i> — pick topics · /channel_pause, /channel_resume, "
            "/channel_remove <i>number</i>"
        ),
        "destination.not_found": "There is no destination #{id}. Send /channels for the list.",
        "destination.usage": (
            "Give the destination's number, e.g. <code>{command} 1</code>. "
            "Send /channels for the list."
        ),
        "destination.paused": "⏸ Stopped posting to <b>{name}</b>.",
        "destination.already_paused": "<b>{name}</b> is already paused.",
        "destination.resumed": "▶️ Posting to <b>{name}</b> again, from new articles on.",
        "destination.not_paused": "<b>{name}</b> is posting as usual.",
        "destination.removed": "🗑 Removed <b>{name}</b>. I no longer post there.",
        "destination.removed_config": (
            "🗑 Removed <b>{name}</b>. It is in <code>feeds.toml</code>, so it comes back when the bot "
            "restarts unless you delete it from the file."
        ),
        "destination.saved": "Saved.",
        "button.dest_photo": "🖼 With the photo",
        "button.dest_text": "📝 Text and preview",
        "button.dest_hashtags": "Hashtags",
        "button.dest_silent": "🔕 Silent",
        "stats.destinations": "Destinations:",
        "stats.destination_line": "#{id} {name} · last post: {last}",
        "broadcast.everyone_and_channels": "every reader and the destinations",
        "broadcast.channels_only": "the destinations only",
        "feed.moved_notice": "↪️ Feed <b>{name}</b> has moved. I now read it at its new address:\n{url}\n(old address: {old})",
        "digest.header": "<b>☀️ Your news digest, {date}</b>",
        "digest.continued": "<i>(continued)</i>",
        "digest.nothing_new": "Nothing new for your digest yet.",
        "digest.on_its_way": "Your digest is on its way.",
        "button.digest_now": "📨 Send my digest now",
        "button.unfollow_topic": "🔕 Unfollow {topic}",
        "button.unfollow_this_topic": "🔕 Unfollow this topic",
        "button.unfollow_keyword": "🔕 Drop the keyword “{keyword}”",
        "button.related": "🔎 Related news",
        "button.undo": "↩️ Undo",
        "alert.unfollowed_topic": "You no longer follow {topic}. Tap Undo if that was a slip.",
        "alert.unfollowed_keyword": "Keyword “{keyword}” dropped. Tap Undo if that was a slip.",
        "alert.undone": "Followed again, as before.",
        "alert.nothing_to_unfollow": "You no longer follow this.",
        "alert.related_header": "<b>Related news</b>",
        "alert.related_none": "I found no related articles yet.",
        "command.start": "Start and pick topics",
        "command.subscribe": "Follow a topic or keyword",
        "command.unsubscribe": "Stop following",
        "command.mysubs": "What you follow",
        "command.search": "Search the news",
        "command.latest": "Latest news",
        "command.settings": "Delivery and language",
        "command.help": "Commands",
        "command.stop": "Stop all messages",
    },
}

# The commands shown in Telegram's menu, in this order.
MENU_COMMANDS = (
    "start",
    "subscribe",
    "unsubscribe",
    "mysubs",
    "search",
    "latest",
    "settings",
    "help",
    "stop",
)


def normalize_language(code: str | None) -> str:
    """Map a Telegram language_code ("vi", "en-US", None…) to a catalog we have."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.split("-")[0].split("_")[0].lower()
    return base if base in CATALOGS else "en" if base else DEFAULT_LANGUAGE


def t(language: str, key: str, **values: object) -> str:
    """The message for key in language, with every value HTML-escaped."""
    catalog = CATALOGS[normalize_language(language)]
    text = catalog.get(key) or CATALOGS[DEFAULT_LANGUAGE][key]
    if not values:
        return text
    return text.format(**{k: html.escape(str(v), quote=False) for k, v in values.items()})


def t_plain(language: str, key: str, **values: object) -> str:
    """The message for key as plain text, for places without HTML (button labels):
    values are inserted as they are, not escaped."""
    catalog = CATALOGS[normalize_language(language)]
    text = catalog.get(key) or CATALOGS[DEFAULT_LANGUAGE][key]
    return text.format(**values) if values else text


def hour_label(hour: int, minute: int = 0) -> str:
    return f"{hour:02d}:{minute:02d}"
