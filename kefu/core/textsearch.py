"""Search tokens for mixed Chinese and English text (pure logic, no Django).

Chinese has no spaces between words, so a word tokenizer sees a whole sentence as one token.
We index overlapping character bigrams of every run of CJK characters ("退款申请" → 退款 款申 申请)
and lower-cased Latin words and numbers. A query is tokenized the same way and every token must
match, so any Chinese substring of two or more characters is found, and a single character or the
last Latin word being typed matches as a prefix. The same token string feeds SQLite FTS5 and a
PostgreSQL ``tsvector`` ('simple' configuration) — see docs/decisions/0003-search.md.
"""

from __future__ import annotations

import re
import unicodedata

_CJK = (
    "\u3040-\u30ff"  # kana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # hangul
    "\uf900-\ufaff"  # compatibility ideographs
)
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[0-9a-z]+")
_CJK_RUN = re.compile(rf"[{_CJK}]+")
MAX_DOCUMENT_CHARS = 6000


def normalize(text: str) -> str:
    """NFKC folds full-width letters and digits (ＡＢＣ１２３) to ASCII; accents are dropped."""
    folded = unicodedata.normalize("NFKC", text).lower()
    decomposed = unicodedata.normalize("NFD", folded)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def tokens(text: str) -> list[str]:
    out: list[str] = []
    for match in _TOKEN_RE.finditer(normalize(text)):
        piece = match.group()
        if _CJK_RUN.fullmatch(piece):
            out.extend(_bigrams(piece))
        else:
            out.append(piece)
    return out


def document(*parts: str) -> str:
    """The indexed form of a ticket: distinct tokens in first-seen order, bounded in size."""
    text = " ".join(p for p in parts if p)[:MAX_DOCUMENT_CHARS]
    return " ".join(dict.fromkeys(tokens(text)))


def query_terms(query: str) -> list[tuple[str, bool]]:
    """(token, is_prefix) pairs for a user query; an empty list means "nothing to search for"."""
    terms: list[tuple[str, bool]] = []
    pieces = list(_TOKEN_RE.finditer(normalize(query)))
    for index, match in enumerate(pieces):
        piece = match.group()
        last = index == len(pieces) - 1
        if _CJK_RUN.fullmatch(piece):
            if len(piece) == 1:
                terms.append((piece, True))
            else:
                terms.extend((gram, False) for gram in _bigrams(piece))
        else:
            # The last Latin word may still be being typed.
            terms.append((piece, last))
    return list(dict.fromkeys(terms))


def fts5_query(query: str) -> str:
    return " AND ".join(f'"{tok}"' + ("*" if prefix else "") for tok, prefix in query_terms(query))


def tsquery(query: str) -> str:
    return " & ".join(f"'{tok}'" + (":*" if prefix else "") for tok, prefix in query_terms(query))
