"""The near-duplicate story detector on its own (its figures: bench/stories.py)."""

from __future__ import annotations

import pickle

from bot.ingest.stories import (
    StorySignature,
    best_match,
    named_dates,
    same_story,
    story_bands,
    story_signature,
)

FIRE = (
    "Cháy lớn tại xưởng gỗ ở Bình Dương, thiêu rụi hàng nghìn mét vuông",
    "Rạng sáng 12/11, đám cháy bùng phát tại một xưởng sản xuất gỗ ở phường Tân Định, "
    "TP Bến Cát, Bình Dương, thiêu rụi khoảng 3.000 m2 nhà xưởng.",
)
FIRE_ELSEWHERE = (
    "Xưởng gỗ rộng 3.000 m2 ở Bình Dương cháy dữ dội trong đêm",
    "Rạng sáng 12/11, một xưởng sản xuất gỗ tại phường Tân Định, TP Bến Cát (Bình Dương) "
    "bốc cháy dữ dội, thiêu rụi khoảng 3.000 m2 nhà xưởng.",
)
GOLD_MONDAY = (
    "Giá vàng hôm nay 24/9: SJC tăng 500.000 đồng",
    "Giá vàng hôm nay 24/9, vàng miếng SJC tăng 500.000 đồng, lên 128,5 triệu đồng một lượng.",
)
GOLD_TUESDAY = (
    "Giá vàng hôm nay 25/9: SJC tăng 500.000 đồng",
    "Giá vàng hôm nay 25/9, vàng miếng SJC tăng 500.000 đồng, lên 129 triệu đồng một lượng.",
)


def signature(text: tuple[str, str]) -> StorySignature:
    sig = story_signature(*text)
    assert sig is not None
    return sig


def test_two_outlets_wording_one_event_are_one_story() -> None:
    assert same_story(signature(FIRE), signature(FIRE_ELSEWHERE))


def test_accents_and_case_do_not_matter() -> None:
    plain = ("chay lon tai xuong go o binh duong, thieu rui hang nghin met vuong", FIRE[1].upper())
    assert same_story(signature(FIRE), signature(plain))


def test_the_same_template_on_another_day_is_another_story() -> None:
    assert not same_story(signature(GOLD_MONDAY), signature(GOLD_TUESDAY))
    assert named_dates("gia vang hom nay 24/9, ngay 23-9, 1/12/2026, ngo 29/70") == {
        "24/9",
        "23/9",
        "1/12",
    }


def test_different_events_are_different_stories() -> None:
    assert not same_story(signature(FIRE), signature(GOLD_MONDAY))


def test_signature_survives_storage_and_the_process_boundary() -> None:
    sig = signature(GOLD_MONDAY)
    assert StorySignature.from_bytes(sig.to_bytes()) == sig
    assert pickle.loads(pickle.dumps(sig)) == sig
    assert story_signature("", "") is None


def test_one_story_shares_bands_and_best_match_picks_it() -> None:
    fire, other = signature(FIRE), signature(FIRE_ELSEWHERE)
    assert set(story_bands(fire)) & set(story_bands(other))
    assert all(-(2**63) <= key < 2**63 for key in story_bands(fire))
    candidates = [(7, signature(GOLD_MONDAY).to_bytes()), (3, fire.to_bytes())]
    assert best_match(other.to_bytes(), candidates) == 3
    assert best_match(other.to_bytes(), candidates[:1]) is None


def test_a_numbered_series_is_not_one_story() -> None:
    six = ("Lãi suất tiết kiệm kỳ hạn 6 tháng", "Lãi suất tiết kiệm hiện dao động từ 3% đến 5%.")
    twelve = ("Lãi suất tiết kiệm kỳ hạn 12 tháng", six[1])
    rescued = ("Cháy chung cư mini, đã cứu được 54 người", "Đám cháy bùng phát lúc 23h đêm 12/9.")
    first = ("Cháy chung cư mini", rescued[1])

    assert not same_story(signature(six), signature(twelve))
    assert same_story(signature(first), signature(rescued))  # an update adding a figure
