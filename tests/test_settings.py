"""Settings and feeds.toml: good values load, bad ones name themselves in one line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bot.runtime.feeds_config import FeedsConfigError, load_feeds_config
from bot.runtime.settings import SettingsError, load_settings

REPO = Path(__file__).resolve().parents[1]


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({}, env_file=None)

    assert settings.telegram_bot_token is None
    assert settings.telegram_api_base_url == "https://api.telegram.org"
    assert settings.default_timezone == "Asia/Ho_Chi_Minh"
    assert settings.default_language == "vi"
    assert settings.allow_private_feeds is False
    assert settings.admin_ids == frozenset()


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ADMIN_IDS=1, 2\nNEWSBOT_LANGUAGE=en\nNEWSBOT_DB=/tmp/x.db\n")

    settings = load_settings({"NEWSBOT_LANGUAGE": "vi"}, env_file=env_file)

    assert settings.admin_ids == frozenset({1, 2})
    assert settings.default_language == "vi"
    assert str(settings.db_path) == "/tmp/x.db"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TELEGRAM_BOT_TOKEN", "no colon here"),
        ("TELEGRAM_API_BASE_URL", "ftp://api"),
        ("ADMIN_IDS", "1,two"),
        ("NEWSBOT_POLL_INTERVAL", "5"),
        ("NEWSBOT_TIMEZONE", "Nowhere/City"),
        ("NEWSBOT_LANGUAGE", "fr"),
        ("NEWSBOT_ALLOW_PRIVATE_FEEDS", "perhaps"),
        ("NEWSBOT_FETCH_MAX_BYTES", "-1"),
        ("NEWSBOT_LOG_LEVEL", "LOUD"),
        ("NEWSBOT_SEND_RATE", "100"),  # over Telegram's free limit without paid broadcasts
        ("NEWSBOT_SEND_RATE", "5000"),
        ("NEWSBOT_SEND_RATE", "unlimited"),  # only against a stand-in on loopback
        ("NEWSBOT_PAID_BROADCAST", "sometimes"),
        ("NEWSBOT_WEBHOOK_URL", "http://bot.example.vn/hook"),  # Telegram needs https
        ("NEWSBOT_WEBHOOK_LISTEN", "8080"),
        ("NEWSBOT_WEBHOOK_SECRET", "has spaces"),
    ],
)
def test_bad_values_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({name: value}, env_file=None)

    message = str(caught.value)
    assert message.startswith(f"{name}:")
    assert "\n" not in message


def test_paid_broadcasts_lift_the_send_rate() -> None:
    settings = load_settings(
        {"NEWSBOT_SEND_RATE": "500", "NEWSBOT_PAID_BROADCAST": "on"}, env_file=None
    )

    assert (settings.send_rate, settings.paid_broadcast) == (500, True)


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8081", "http://localhost:9000/", "http://[::1]:8081"]
)
def test_an_unlimited_send_rate_is_for_a_stand_in_on_this_machine(base_url: str) -> None:
    settings = load_settings(
        {"NEWSBOT_SEND_RATE": "Unlimited", "TELEGRAM_API_BASE_URL": base_url}, env_file=None
    )

    assert settings.send_rate == math.inf


@pytest.mark.parametrize(
    "base_url", ["https://api.telegram.org", "http://10.0.0.5:8081", "http://127.example.vn"]
)
def test_an_unlimited_send_rate_is_refused_for_any_other_bot_api(base_url: str) -> None:
    with pytest.raises(SettingsError, match=r"^NEWSBOT_SEND_RATE: unlimited is only for"):
        load_settings(
            {"NEWSBOT_SEND_RATE": "unlimited", "TELEGRAM_API_BASE_URL": base_url}, env_file=None
        )


def test_webhook_settings() -> None:
    settings = load_settings(
        {
            "NEWSBOT_WEBHOOK_URL": "https://bot.example.vn/tg",
            "NEWSBOT_WEBHOOK_LISTEN": "0.0.0.0:8443",
            "NEWSBOT_WEBHOOK_SECRET": "abc_DEF-123",
        },
        env_file=None,
    )

    assert settings.webhook_url == "https://bot.example.vn/tg"
    assert settings.webhook_listen == ("0.0.0.0", 8443)
    assert settings.webhook_secret == "abc_DEF-123"
    assert load_settings({}, env_file=None).webhook_url is None


def test_token_never_echoed_in_errors() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"TELEGRAM_BOT_TOKEN": "secret value"}, env_file=None)

    assert "secret" not in str(caught.value)


def test_shipped_feeds_toml_is_valid() -> None:
    config = load_feeds_config(REPO / "feeds.toml")

    slugs = {t.slug for t in config.topics}
    assert {"thoi-su", "kinh-te", "khoa-hoc-cong-nghe", "so-huu-tri-tue", "khoi-nghiep"} <= slugs
    assert len(config.feeds) >= 10
    assert all(f.url.startswith("https://") for f in config.feeds)
    assert config.matcher().match("Bảo hộ SỞ HỮU TRÍ TUỆ cho doanh nghiệp") == {"so-huu-tri-tue"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[topics]]\nslug = 'Bad Slug'\nname_vi = 'x'\n", "slug 'Bad Slug'"),
        ("[[topics]]\nslug = 'a'\n", "name_vi is required"),
        ("[[feeds]]\nurl = 'javascript:alert(1)'\n", "url must be an http(s) URL"),
        ("[[feeds]]\nurl = 'https://a.vn/rss'\ntopics = ['nope']\n", "unknown topic 'nope'"),
        ("this is = = not toml", "not valid TOML"),
    ],
)
def test_bad_feeds_file_says_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(FeedsConfigError) as caught:
        load_feeds_config(path)

    assert message in str(caught.value)


def test_missing_feeds_file(tmp_path: Path) -> None:
    with pytest.raises(FeedsConfigError, match="file not found"):
        load_feeds_config(tmp_path / "absent.toml")
