"""Summaries: Vietnamese sentence splitting, datelines, and cutting to a length."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest.summary import (
    SUMMARY_MAX_CHARS,
    cut_at_word,
    make_summary,
    sentences,
    strip_dateline,
)

# The shared samples live beside the repository clone (../shared); they are read in place.
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
SHTT_ARTICLE = SAMPLES / "shtt-article-2023-06-04.txt"


def shtt_lead() -> str:
    """The "(SHTT) - …" lead paragraph of the real SHTT article, or skip."""
    if not SHTT_ARTICLE.is_file():
        pytest.skip(f"shared sample not available: {SHTT_ARTICLE}")
    for line in SHTT_ARTICLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("(SHTT) - Năm 2023"):
            return line
    pytest.fail("the SHTT sample has no '(SHTT) - Năm 2023' lead")


# --- sentences ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Người dân TP.HCM đổ xô đi mua vàng. Giá tăng mạnh.",
            ["Người dân TP.HCM đổ xô đi mua vàng.", "Giá tăng mạnh."],
        ),
        (
            "PGS.TS. Nguyễn Văn A cho biết dự án đã hoàn thành. Ông nói thêm về kế hoạch.",
            [
                "PGS.TS. Nguyễn Văn A cho biết dự án đã hoàn thành.",
                "Ông nói thêm về kế hoạch.",
            ],
        ),
        (
            "Dự án trị giá 5.000 tỷ đồng được khởi công. Dự kiến hoàn thành năm 2026.",
            ["Dự án trị giá 5.000 tỷ đồng được khởi công.", "Dự kiến hoàn thành năm 2026."],
        ),
        (
            "Ngày 31/5/2023, đồng chí Lê Hồng Sơn đã làm việc với Sở. Sau đó đoàn về.",
            ["Ngày 31/5/2023, đồng chí Lê Hồng Sơn đã làm việc với Sở.", "Sau đó đoàn về."],
        ),
        (
            "Lúc 16.11 hôm qua, giá vàng tăng. Sau đó giá giảm.",
            ["Lúc 16.11 hôm qua, giá vàng tăng.", "Sau đó giá giảm."],
        ),
        (
            "Hoạt động KH&CN được chú trọng. Kết quả tốt.",
            ["Hoạt động KH&CN được chú trọng.", "Kết quả tốt."],
        ),
        (
            "Gạo, muối, đường v.v. đều tăng giá. Người dân lo lắng.",
            ["Gạo, muối, đường v.v. đều tăng giá.", "Người dân lo lắng."],
        ),
        (
            "Theo TS. Trần Văn B, thị trường sẽ hồi phục. TP. Hồ Chí Minh dẫn đầu.",
            ["Theo TS. Trần Văn B, thị trường sẽ hồi phục.", "TP. Hồ Chí Minh dẫn đầu."],
        ),
        (
            "Ông Nguyễn V. A. phát biểu tại hội nghị. Hội nghị kết thúc.",
            ["Ông Nguyễn V. A. phát biểu tại hội nghị.", "Hội nghị kết thúc."],
        ),
    ],
)
def test_sentences_keep_abbreviations_and_numbers_inside(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_sentences_split_at_a_real_end_after_a_year() -> None:
    text = (
        "Năm 2023 là năm bản lề của giai đoạn phát triển kinh tế xã hội 2021-2025. "
        "Do đó, trong 5 tháng đầu năm, Sở đã tập trung triển khai các nhiệm vụ."
    )
    assert sentences(text) == [
        "Năm 2023 là năm bản lề của giai đoạn phát triển kinh tế xã hội 2021-2025.",
        "Do đó, trong 5 tháng đầu năm, Sở đã tập trung triển khai các nhiệm vụ.",
    ]


def test_sentences_split_at_question_exclamation_ellipsis_and_quotes() -> None:
    assert sentences("Giá tăng! Vì sao? Không ai biết… Thật lạ.") == [
        "Giá tăng!",
        "Vì sao?",
        "Không ai biết…",
        "Thật lạ.",
    ]
    assert sentences("Ông nói: “Tôi đồng ý.” Sau đó ông đi.") == [
        "Ông nói: “Tôi đồng ý.”",
        "Sau đó ông đi.",
    ]
    assert sentences("Kết quả đã rõ. (Ảnh: TTXVN) Người dân vui mừng.") == [
        "Kết quả đã rõ.",
        "(Ảnh: TTXVN) Người dân vui mừng.",
    ]


def test_sentences_do_not_split_before_lower_case() -> None:
    assert sentences("Ông ấy nói vậy. rồi đi.") == ["Ông ấy nói vậy. rồi đi."]


def test_sentences_of_empty_and_unterminated_text() -> None:
    assert sentences("") == []
    assert sentences("   ") == []
    assert sentences("Không có dấu chấm cuối") == ["Không có dấu chấm cuối"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('aăbcđÂĐHNTP .!?…,0123456789"“”()')))
def test_sentences_lose_no_words(text: str) -> None:
    assert " ".join(sentences(text)).split() == text.split()


# --- strip_dateline -------------------------------------------------------------------


BODY = "Năm 2023 là năm bản lề của giai đoạn phát triển kinh tế xã hội."


@pytest.mark.parametrize(
    "dateline",
    [
        "(SHTT) - ",
        "(Dân trí) – ",
        "(PLO)- ",
        "(PLO)-",
        "(NLĐO) - ",
        "(Chinhphu.vn) — ",
        "TP.HCM - ",
        "HÀ NỘI - ",
        "ĐÀ NẴNG – ",
        "VOV.VN - ",
    ],
)
def test_strip_dateline_drops_source_and_place(dateline: str) -> None:
    assert strip_dateline(dateline + BODY) == BODY


@pytest.mark.parametrize(
    "text",
    [
        "VN-Index tăng hơn 25 điểm trong phiên sáng nay nhờ nhóm ngân hàng.",
        "Sáng nay, Thủ tướng chủ trì cuộc họp về ứng phó bão số 3.",
        "Hà Nội - Sáng nay nhiều tuyến đường ngập nặng sau mưa lớn.",  # not all capitals
        "Giá vàng - một kênh trú ẩn - tiếp tục tăng mạnh trong tuần.",
        "(Ảnh minh họa) Người dân đi bầu cử tại điểm bỏ phiếu số 5.",  # no dash after it
    ],
)
def test_strip_dateline_keeps_ordinary_first_words(text: str) -> None:
    assert strip_dateline(text) == text


def test_strip_dateline_keeps_text_that_would_become_too_short() -> None:
    assert strip_dateline("(SHTT) - Ngắn quá.") == "(SHTT) - Ngắn quá."


# --- make_summary / cut_at_word -------------------------------------------------------


def test_make_summary_keeps_whole_sentences_within_the_limit() -> None:
    lead = "Câu thứ nhất khá ngắn. Câu thứ hai cũng ngắn. Câu thứ ba sẽ vượt giới hạn."
    assert make_summary(lead, max_chars=50) == "Câu thứ nhất khá ngắn. Câu thứ hai cũng ngắn."
    assert make_summary(lead, max_chars=45) == "Câu thứ nhất khá ngắn. Câu thứ hai cũng ngắn."
    assert make_summary(lead, max_chars=44) == "Câu thứ nhất khá ngắn."
    assert make_summary(lead) == lead


def test_make_summary_uses_the_first_paragraph_only() -> None:
    lead = "\n\n  Đoạn đầu tiên của bài. Câu tiếp.\nĐoạn thứ hai không được dùng.\n"
    assert make_summary(lead) == "Đoạn đầu tiên của bài. Câu tiếp."


def test_make_summary_removes_the_dateline() -> None:
    assert make_summary("(Dân trí) – Sáng nay giá xăng giảm mạnh. Người dân vui mừng.") == (
        "Sáng nay giá xăng giảm mạnh. Người dân vui mừng."
    )


def test_make_summary_cuts_a_very_long_first_sentence_at_a_word() -> None:
    first = "Theo báo cáo, " + "các nhiệm vụ khoa học và công nghệ " * 30 + "đã hoàn thành."
    summary = make_summary(f"{first} Câu hai.", max_chars=120)
    assert summary.endswith("…")
    assert len(summary) <= 120
    kept = summary.removesuffix("…")
    assert first.startswith(kept)
    assert first[len(kept)] == " "  # cut between words, not inside one
    assert not kept.endswith((" ", ","))


def test_make_summary_of_empty_lead() -> None:
    assert make_summary("") == ""
    assert make_summary(" \n \n") == ""


def test_cut_at_word() -> None:
    assert cut_at_word("ngắn", 10) == "ngắn"
    assert cut_at_word("một hai ba bốn năm sáu", 12) == "một hai ba…"
    assert cut_at_word("x" * 50, 10) == "x" * 9 + "…"  # no space: a hard cut still fits


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("abc đĐ.!?…,\n()-–HN")),
    st.integers(min_value=2, max_value=SUMMARY_MAX_CHARS),
)
def test_make_summary_never_exceeds_the_limit(lead: str, max_chars: int) -> None:
    assert len(make_summary(lead, max_chars=max_chars)) <= max_chars


def test_summary_of_the_real_shtt_lead() -> None:
    lead = shtt_lead()
    summary = make_summary(lead)
    assert summary.startswith("Năm 2023 là năm bản lề")
    assert "(SHTT)" not in summary
    assert summary.endswith(".")
    assert len(summary) <= SUMMARY_MAX_CHARS
    assert summary == lead.removeprefix("(SHTT) - ")


def test_short_summary_of_the_real_shtt_lead_ends_at_a_sentence_end() -> None:
    summary = make_summary(shtt_lead(), max_chars=150)
    assert summary == "Năm 2023 là năm bản lề của giai đoạn phát triển kinh tế xã hội 2021-2025."


def test_search_text_indexes_the_lead_once() -> None:
    from bot.ingest.summary import search_text

    lead = "Năm 2023 là năm bản lề của giai đoạn phát triển."
    body = f"{lead}\n\nNgày 31/5/2023, Sở đã báo cáo."

    assert search_text(lead, body) == body
    assert search_text("Tóm tắt khác hẳn.", body) == f"Tóm tắt khác hẳn.\n{body}"
    assert search_text(lead, "") == f"{lead}\n"
