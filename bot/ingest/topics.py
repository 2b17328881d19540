"""Which topics an article belongs to, beyond its feed's own: keyword matching."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.text.vietnamese import contains_phrase, fold_words


@dataclass(frozen=True, slots=True)
class TopicMatcher:
    """Topic keywords, pre-folded. Picklable, so parse workers can carry it."""

    phrases: tuple[tuple[str, tuple[str, ...]], ...]  # (topic slug, folded words of one phrase)

    @classmethod
    def from_keywords(cls, keywords: Mapping[str, Iterable[str]]) -> TopicMatcher:
        phrases = []
        for slug, words in keywords.items():
            for phrase in words:
                folded = tuple(fold_words(phrase))
                if folded:
                    phrases.append((slug, folded))
        return cls(tuple(phrases))

    def match(self, *texts: str) -> set[str]:
        """Topics whose keyword phrase occurs, accent-insensitively, as whole words."""
        if not self.phrases:
            return set()
        words = fold_words("\n".join(texts))
        return {slug for slug, phrase in self.phrases if contains_phrase(words, list(phrase))}
