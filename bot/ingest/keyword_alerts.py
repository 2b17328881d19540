"""Keyword alerts: which readers' phrases a new article mentions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from bot.text.vietnamese import contains_phrase, fold_words
from storage.rows import KeywordAlertRow


class KeywordIndex:
    """Alerts grouped by their first folded word, so an article is checked only
    against the phrases that could possibly occur in it."""

    def __init__(self, alerts: Iterable[KeywordAlertRow]) -> None:
        self._by_first_word: dict[str, list[tuple[int, list[str], str]]] = defaultdict(list)
        for alert in alerts:
            words = alert.folded.split()
            if words:
                self._by_first_word[words[0]].append((alert.chat_id, words, alert.phrase))

    def __bool__(self) -> bool:
        return bool(self._by_first_word)

    def chats_matching(self, *texts: str) -> dict[int, str]:
        """The readers whose phrase the texts mention, each with the phrase (as they
        typed it) that matched first: the alert names it."""
        words = fold_words("\n".join(texts))
        chats: dict[int, str] = {}
        for word in set(words):
            for chat_id, folded, phrase in self._by_first_word.get(word, ()):
                if chat_id not in chats and contains_phrase(words, folded):
                    chats[chat_id] = phrase
        return chats
