"""What the chatbot learns an article from (pure logic, no Django): its title, its example questions and the
sentences of its text. The sentences bring the article's own words for the problem (a customer asking about
the "delivery charge" finds the article whose text explains shipping fees), which the handful of example
questions cannot all foresee."""

from __future__ import annotations

import re

MIN_SENTENCE_CHARS = 6
MAX_SENTENCES = 30
_SENTENCE_END = re.compile(r"(?<=[。！？；.!?;])\s*|\n+")


def sentences(text: str) -> list[str]:
    pieces = (piece.strip() for piece in _SENTENCE_END.split(text))
    return [piece for piece in pieces if len(piece) >= MIN_SENTENCE_CHARS][:MAX_SENTENCES]


def article_examples(title: str, questions: tuple[str, ...] | list[str], text: str) -> list[str]:
    return [title, *questions, *sentences(text)]
