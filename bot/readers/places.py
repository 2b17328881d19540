"""Place names as Vietnamese readers type them on a phone: run together ("hanoi",
"danang") or abbreviated ("tphcm", "hcm"), where articles write "Hà Nội", "Đà Nẵng",
"TP.HCM" (folded: "ha noi", "da nang", "tp hcm").

Only the words listed here widen, each to the few spellings of the same place, so
"ha" or "noi" alone never do. "hcm" already matches "TP.HCM" (the index splits it
into "tp" and "hcm"); it widens to Sài Gòn, as "saigon" widens to TP.HCM: readers
use the two names for one city.
"""

from __future__ import annotations

_SAIGON = ("sai gon", "hcm", "tphcm", "thanh pho ho chi minh")

# A folded word → the folded words and phrases any one of which it means.
PLACE_SPELLINGS: dict[str, tuple[str, ...]] = {
    "hanoi": ("hanoi", "ha noi"),
    "hn": ("hn", "ha noi"),
    "danang": ("danang", "da nang"),
    "saigon": ("saigon", *_SAIGON),
    "tphcm": ("tphcm", "tp hcm", "sai gon", "thanh pho ho chi minh"),
    "hcm": ("hcm", "tphcm", "sai gon"),
    "haiphong": ("haiphong", "hai phong"),
    "cantho": ("cantho", "can tho"),
    "nhatrang": ("nhatrang", "nha trang"),
    "dalat": ("dalat", "da lat"),
    "vungtau": ("vungtau", "vung tau"),
    "halong": ("halong", "ha long"),
    "phuquoc": ("phuquoc", "phu quoc"),
    "quangninh": ("quangninh", "quang ninh"),
    "binhduong": ("binhduong", "binh duong"),
    "dongnai": ("dongnai", "dong nai"),
    "nghean": ("nghean", "nghe an"),
    "thanhhoa": ("thanhhoa", "thanh hoa"),
    "hoian": ("hoian", "hoi an"),
    "sapa": ("sapa", "sa pa"),
}


def place_spellings(word: str) -> tuple[str, ...] | None:
    """Every spelling of the place a folded word names, or None when it names none."""
    return PLACE_SPELLINGS.get(word)


# A run-together name → the words it runs together ("hanoi" → "ha noi"): what a keyword
# alert looks for, as articles write the place.
_RUN_TOGETHER = {
    word: spaced
    for word, spellings in PLACE_SPELLINGS.items()
    for spaced in spellings
    if " " in spaced and spaced.replace(" ", "") == word
}


def spelled_out(words: list[str]) -> list[str]:
    """Folded words with each run-together place name spelled out ("hanoi" → "ha", "noi")."""
    return [part for word in words for part in _RUN_TOGETHER.get(word, word).split()]
