"""Knowledge-base search for Chinese, English and mixed text, with typo tolerance and highlights (pure logic).

Documents are tokenised like tickets (``kefu.core.textsearch``: CJK bigrams, Latin words) and ranked with
BM25 over three fields weighted title 3 : example questions 2 : body 1. A query term matches

- itself;
- as a prefix when it is the word being typed (type-ahead) or a single Chinese character;
- a Latin word one edit away (two for words of eight letters or more) when it is not in the vocabulary
  at all — "refnud" finds "refund". Candidates come from a deletion index (every word with one letter
  removed), so a lookup costs a few dictionary probes instead of a scan of the vocabulary.

Terms are OR-ed, and a document's score is multiplied by the share of query terms it matched, squared: a
document that contains every word of the question comes first, one that shares a common word comes
last. Highlights are computed on the original text (full-width letters and all) so the reader sees their
own words marked.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from kefu.core import textsearch

FIELD_WEIGHTS = {"title": 3.0, "questions": 2.0, "text": 1.0}
K1, B = 1.2, 0.75
PREFIX_EXPANSIONS = 30
SNIPPET_CHARS = 160

Segments = tuple[tuple[str, bool], ...]
"""Text cut into (piece, is_match) pairs: a template escapes every piece and marks the matches."""


@dataclass(frozen=True)
class Document:
    key: int  # the caller's id for it
    locale: str
    title: str
    text: str
    questions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    key: int
    score: float
    title: Segments
    snippet: Segments
    matched: frozenset[str] = field(default_factory=frozenset)


class SearchIndex:
    def __init__(self, documents: Iterable[Document]) -> None:
        self.documents = list(documents)
        self._postings: dict[str, dict[int, float]] = defaultdict(dict)
        lengths = []
        for position, doc in enumerate(self.documents):
            weighted: dict[str, float] = defaultdict(float)
            for name, weight in FIELD_WEIGHTS.items():
                text = " ".join(doc.questions) if name == "questions" else getattr(doc, name)
                for token in textsearch.tokens(text):
                    weighted[token] += weight
            lengths.append(sum(weighted.values()))
            for token, tf in weighted.items():
                self._postings[token][position] = tf
        self._lengths = lengths
        self._average = (sum(lengths) / len(lengths)) if lengths else 1.0
        self._vocabulary = sorted(self._postings)
        self._deletions: dict[str, set[str]] = defaultdict(set)
        for word in self._vocabulary:
            if word.isascii() and len(word) >= 4:
                for variant in _deletions(word):
                    self._deletions[variant].add(word)

    def __len__(self) -> int:
        return len(self.documents)

    def search(self, query: str, *, limit: int = 10, locales: Collection[str] | None = None,
               allowed: Collection[int] | None = None) -> list[Hit]:
        """The best documents for the query, best first; `allowed` restricts to the given keys (the caller's
        access rule), `locales` to the given languages."""
        terms = textsearch.query_terms(query)
        if not terms:
            return []
        scores: dict[int, float] = defaultdict(float)
        covered: dict[int, set[int]] = defaultdict(set)
        matched: dict[int, set[str]] = defaultdict(set)
        for number, (term, prefix) in enumerate(terms):
            for token, discount in self._expand(term, prefix):
                postings = self._postings[token]
                idf = math.log(1 + (len(self.documents) - len(postings) + 0.5) / (len(postings) + 0.5))
                for position, tf in postings.items():
                    norm = K1 * (1 - B + B * self._lengths[position] / self._average)
                    scores[position] += discount * idf * tf * (K1 + 1) / (tf + norm)
                    covered[position].add(number)
                    matched[position].add(token)
        ranked = []
        for position, score in scores.items():
            doc = self.documents[position]
            if (allowed is not None and doc.key not in allowed) or (locales is not None and doc.locale not in locales):
                continue
            coverage = len(covered[position]) / len(terms)
            ranked.append((score * coverage * coverage, position))
        ranked.sort(key=lambda pair: (-pair[0], pair[1]))
        hits = []
        for score, position in ranked[:limit]:
            doc, tokens = self.documents[position], frozenset(matched[position])
            hits.append(Hit(doc.key, round(score, 4), highlight(doc.title, tokens),
                            snippet(doc.text, tokens), tokens))
        return hits

    def _expand(self, term: str, prefix: bool) -> list[tuple[str, float]]:
        """The vocabulary tokens a query term stands for, each with its weight (typos count less)."""
        found = [(term, 1.0)] if term in self._postings else []
        if prefix:
            found += [(word, 0.8) for word in self._with_prefix(term) if word != term]
        if not found and term.isascii() and len(term) >= 4:
            found = [(word, 0.6) for word in sorted(self._near(term))]
        return found

    def _with_prefix(self, start: str) -> list[str]:
        words = []
        low = _bisect_left(self._vocabulary, start)
        for word in self._vocabulary[low:]:
            if not word.startswith(start):
                break
            words.append(word)
        words.sort(key=lambda word: -len(self._postings[word]))
        return words[:PREFIX_EXPANSIONS]

    def _near(self, word: str) -> set[str]:
        """Vocabulary words within one edit (two for long words) of a word that is not in it."""
        candidates: set[str] = set(self._deletions.get(word, ()))
        for variant in _deletions(word):
            if variant in self._postings:
                candidates.add(variant)
            candidates |= self._deletions.get(variant, set())
        limit = 2 if len(word) >= 8 else 1
        return {c for c in candidates if _edit_distance(word, c) <= limit}


def _bisect_left(words: Sequence[str], value: str) -> int:
    low, high = 0, len(words)
    while low < high:
        middle = (low + high) // 2
        if words[middle] < value:
            low = middle + 1
        else:
            high = middle
    return low


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: a swap of two neighbouring letters ("rfeund") is one edit."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


_EMPHASIS = re.compile(r"[*_`]+")
_MARKUP = re.compile(r"\]\(\s*[^)\s]*\)|[#>|\[\]]+|^\s*[-+]\s+|^\s*\d+\.\s+", re.MULTILINE)


def plain_text(markdown: str) -> str:
    """Markdown without its markup, for the index, snippets and the chatbot's answers."""
    return " ".join(_MARKUP.sub(" ", _EMPHASIS.sub("", markdown)).split())


# ---------------------------------------------------------------------------------------------- highlights

_LATIN = re.compile(r"[0-9a-z]+")


def _normalized_with_origin(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index of the original character it came from."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = textsearch.normalize(char)
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


def _marked(text: str, tokens: frozenset[str]) -> list[bool]:
    """For each character of the original text: is it part of a matched token?"""
    flags = [False] * len(text)
    if not tokens or not text:
        return flags
    normal, origin = _normalized_with_origin(text)
    for match in _LATIN.finditer(normal):
        if match.group() in tokens:
            for i in range(match.start(), match.end()):
                flags[origin[i]] = True
    for match in textsearch._CJK_RUN.finditer(normal):
        run, start = match.group(), match.start()
        for i in range(len(run)):
            if run[i : i + 2] in tokens or (len(run) == 1 and run in tokens):
                for j in range(i, min(i + 2, len(run))):
                    flags[origin[start + j]] = True
    return flags


def _segments(text: str, flags: Sequence[bool]) -> Segments:
    pieces: list[tuple[str, bool]] = []
    for char, flag in zip(text, flags, strict=True):
        if pieces and pieces[-1][1] == flag:
            pieces[-1] = (pieces[-1][0] + char, flag)
        else:
            pieces.append((char, flag))
    return tuple(pieces)


def highlight(text: str, tokens: frozenset[str]) -> Segments:
    return _segments(text, _marked(text, tokens))


def snippet(text: str, tokens: frozenset[str], width: int = SNIPPET_CHARS) -> Segments:
    """The part of the text around its first match (its beginning when nothing matched), marked."""
    text = " ".join(text.split())
    flags = _marked(text, tokens)
    first = flags.index(True) if True in flags else 0
    start = max(0, first - width // 4)
    end = min(len(text), start + width)
    pieces = list(_segments(text[start:end], flags[start:end]))
    if start > 0:
        pieces.insert(0, ("…", False))
    if end < len(text):
        pieces.append(("…", False))
    return tuple(pieces)
