"""Top issues found from the text itself: similar tickets grouped into topics, and topics' trends (pure logic).

The monthly review asks "what did customers write to us about most, and is it growing?". Categories answer
part of it; the words customers use answer the rest, and the same grouping turns the questions the bot could
not answer into knowledge gaps. Chinese, English and mixed text.

Reading the text
    Each text is folded as ``kefu.core.textsearch`` folds it (NFKC, lower case) and cut to its first
    ``MAX_TEXT_CHARS`` characters. Greetings and courtesies (您好, 请问, 谢谢, 麻烦, hello, thanks, please…)
    are cut out *before* tokenizing, so they neither count nor glue to the next word as a CJK bigram
    ("您好请问退款" gives 退款, not 好请 or 问退). Tokens are the search tokens (CJK bigrams, Latin words)
    less stop words, single characters and numbers (order numbers, dates). Each distinct token counts once
    per text, weighted by how rare it is (inverse document frequency raised to ``_IDF_POWER`` = 0.75, rows
    of length 1); a token found in one text only is dropped, since it cannot make two texts alike.

Grouping
    Similarity is the cosine of two texts' weight vectors. Texts are read in a fixed order (by folded text,
    then id) in batches; a text joins the most similar existing group when its similarity to the group's
    centroid is at least ``similarity``, otherwise it starts a group with the texts of its batch that are at
    least that similar to it (leader clustering; no number of groups is needed up front). Two refinement
    passes then move every text to its most similar centroid (or to no group when none reaches the
    threshold), groups smaller than ``min_size`` are dissolved (their texts may join another group), and of
    the 2,000 largest groups those whose centroids are at least ``merge_similarity`` alike are merged
    (average linkage). Texts in no group are noise and are not reported. The cost grows with texts ×
    groups, not texts²: 50,000 short tickets take 5–10 seconds on one slow core. The thresholds were
    chosen on the synthetic themes of the tests (phrasings of one problem in Chinese, English and mixed
    text); lexical similarity cannot join a Chinese text to an English one unless they share a word.

A topic
    ``label_terms``: the 2–4 heaviest terms of the group's centroid; a Chinese bigram is grown by the heavy
    bigrams that overlap it, up to six characters, while most members holding it hold the longer word
    (退款 + 款到 + 到账 → 退款到账); a term that repeats a chosen one is skipped. ``members``: every
    id, most central first; ``examples``: the first few of them. ``profile``: the centroid's heaviest terms
    and weights, to recognise the same topic in another period (``match_topics``).

Order and determinism
    The same items in any order give the same topics in the same order: larger first, then by label.

Trends
    ``topic_trends`` compares counts by key between two periods as shares of each period's total: ``new``
    (none before), ``gone`` (none now), ``rising`` / ``falling`` when the share moved by more than
    ``steady_band`` (percentage points as a fraction), otherwise ``steady``.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from kefu.core import textsearch

if TYPE_CHECKING:
    from numpy.typing import NDArray

ItemId = int | str

MAX_TEXT_CHARS = 1000  # subject and first message; quoted history below adds words, not meaning
DEFAULT_SIMILARITY = 0.2  # cosine to a centroid to join it; chosen on the synthetic themes in the tests
DEFAULT_MERGE_SIMILARITY = 0.15  # cosine between two centroids (average linkage) to merge their groups; likewise
EXAMPLES_PER_TOPIC = 3
PROFILE_TERMS = 20
MATCH_SIMILARITY = 0.4  # cosine between two periods' profiles to call them the same topic
_IDF_POWER = 0.75  # damped: rare bigrams that straddle two words (款还) would otherwise outweigh the topic words
_BATCH = 512
_REFINE_PASSES = 2
_BLOCK_CELLS = 8_000_000  # similarities held at once (32 MB): rows per block = this / groups
_MERGE_LIMIT = 2000  # largest groups considered for merging: their similarity matrix stays small
_LABEL_CANDIDATES = 8
_LABEL_MIN_WEIGHT = 0.35  # of the top term's weight, for a third or fourth label term
_CHAIN_SHARE = 0.5  # of the members holding a bigram that must also hold the longer word for it to be joined
_CHAIN_WEIGHT = 0.5  # of the bigram's weight that a neighbour needs to be joined to it
_MAX_WORD_CHARS = 6  # a short phrase (提示密码错误) reads better than a chain cut mid-word
_CHAIN_SAMPLE = 300  # most central members read to decide a join

# Cut out before tokenizing: they say nothing about the problem. Longest first so "thank you" beats "thank".
_BOILERPLATE = (
    "您好", "你好", "您们好", "你们好", "请问", "谢谢", "多谢", "感谢", "麻烦", "打扰", "在吗", "在么", "亲爱的", "亲,",
    "辛苦", "哈喽", "早上好", "晚上好", "下午好", "请尽快处理", "尽快处理", "尽快", "急急急",
    "good morning", "good afternoon", "good evening", "thank you", "thanks", "thank", "hello", "hi", "hey",
    "dear", "please", "pls", "regards", "cheers", "sorry", "team",
)
# Not cut: 客服 and "support" (a complaint about the service itself is a topic), single characters such as
# 急 or 亲 (they are parts of words: 紧急, 亲自); the text is folded first, so "亲，" is matched as "亲,".
_BOILERPLATE_RE = re.compile(
    "|".join(
        # Latin words only as whole words ("hi" is not in "shipping"), even right after Chinese ("请问please").
        (re.escape(p) if re.search(r"[^a-z ]", p) else rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])")
        for p in sorted(_BOILERPLATE, key=len, reverse=True)
    )
)
# Chinese bigrams of grammar, not of problems; rare words carry the meaning and TF-IDF weighs the rest.
_CJK_STOP = frozenset({
    "我的", "我们", "你们", "您的", "他们", "这个", "那个", "一个", "一下", "什么", "怎么", "可以", "现在", "已经",
    "还是", "就是", "是不", "不是", "的话", "为什", "么办", "怎样", "如何", "有没", "没有", "一直", "还没", "是否",
    "能不", "不能", "帮我", "帮忙", "我想", "想问", "问一", "我要", "需要", "么时", "时候", "多少", "多久",
})
# A bigram holding a particle straddles two words (的退 in 我的退款): it links texts by grammar alone.
_PARTICLES = frozenset("的了吗呢吧啊嘛么")


@dataclass(frozen=True)
class Topic:
    """A group of similar texts: its label, every member (most central first) and a few examples."""

    label_terms: tuple[str, ...]
    members: tuple[ItemId, ...]
    examples: tuple[ItemId, ...]
    profile: tuple[tuple[str, float], ...]

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def label(self) -> str:
        return " · ".join(self.label_terms)


TrendDirection = Literal["new", "rising", "steady", "falling", "gone"]


@dataclass(frozen=True)
class Trend:
    """One key's count and share in two periods; ``share_change`` is a fraction (0.05 = five points)."""

    key: str
    current: int
    previous: int
    current_share: float
    previous_share: float
    share_change: float
    direction: TrendDirection


# --- reading the text ---------------------------------------------------------------------------------------


@functools.cache
def _english_stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def clean_text(text: str) -> str:
    """The folded text with greetings and courtesies cut out, as the tokens and labels see it."""
    folded = textsearch.normalize(text[:MAX_TEXT_CHARS])
    return _BOILERPLATE_RE.sub(" ", folded)


def topic_tokens(text: str) -> list[str]:
    """Distinct telling tokens of a cleaned text, first-seen order: no stop word, single character or number."""
    stop_words = _english_stop_words()
    kept = (
        tok for tok in textsearch.tokens(text)
        if len(tok) > 1 and not tok.isdigit() and tok not in _CJK_STOP and tok not in stop_words
        and not _PARTICLES.intersection(tok)
    )
    return list(dict.fromkeys(kept))


# --- grouping ---------------------------------------------------------------------------------------------------


def _canonical_order(items: Sequence[tuple[ItemId, str]]) -> list[tuple[ItemId, str, str]]:
    """(id, text, cleaned text) in an order that does not depend on the order given, so results do not either."""
    cleaned = [(item_id, text, clean_text(text)) for item_id, text in items]
    return sorted(cleaned, key=lambda row: (row[2], type(row[0]).__name__, str(row[0])))


def _vectorize(cleaned: list[str]) -> tuple[Any, list[str]]:
    """Rows of length 1 (or 0 for a text with no shared token) and the vocabulary, in column order."""
    from scipy.sparse import diags
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.preprocessing import normalize

    counter = CountVectorizer(analyzer=topic_tokens, min_df=2, binary=True,
                              dtype=np.float32)
    present = counter.fit_transform(cleaned).tocsr()
    texts_with_term = np.asarray(present.sum(axis=0)).ravel()
    idf = (1.0 + np.log((1.0 + present.shape[0]) / (1.0 + texts_with_term))) ** _IDF_POWER
    return normalize(present @ diags(idf.astype(np.float32))).tocsr(), list(counter.get_feature_names_out())


def _centroids(matrix: Any, labels: NDArray[np.int64], groups: int) -> Any:
    """Each group's mean direction as a row of length 1 (a sparse ``groups`` × terms matrix)."""
    from scipy.sparse import csr_matrix, diags

    member = np.flatnonzero(labels >= 0)
    membership = csr_matrix(
        (np.ones(len(member), dtype=np.float32), (labels[member], member)), shape=(groups, matrix.shape[0])
    )
    sums = (membership @ matrix).tocsr()
    norms = np.sqrt(np.asarray(sums.multiply(sums).sum(axis=1)).ravel())
    return (diags(1.0 / np.maximum(norms, 1e-12)).astype(np.float32) @ sums).tocsr()


def _best_centroid(matrix: Any, centroids: Any) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """For every row, the most similar centroid and that similarity, computed in bounded blocks."""
    rows = matrix.shape[0]
    best = np.full(rows, -1, dtype=np.int64)
    score = np.zeros(rows, dtype=np.float32)
    if centroids.shape[0] == 0:
        return best, score
    transposed = centroids.T.tocsc()
    step = max(1, _BLOCK_CELLS // centroids.shape[0])
    for start in range(0, rows, step):
        block = (matrix[start : start + step] @ transposed).toarray()
        best[start : start + step] = block.argmax(axis=1)
        score[start : start + step] = block.max(axis=1)
    return best, score


def _leader_pass(matrix: Any, similarity: float) -> tuple[NDArray[np.int64], int]:
    """One pass in batches: join the nearest centroid above ``similarity`` or lead a new group."""
    labels = np.full(matrix.shape[0], -1, dtype=np.int64)
    groups = 0
    centroids = _centroids(matrix, labels, 0)
    for start in range(0, matrix.shape[0], _BATCH):
        batch = matrix[start : start + _BATCH]
        best, score = _best_centroid(batch, centroids)
        joined = score >= similarity
        labels[start : start + _BATCH][joined] = best[joined]
        groups = _lead_new_groups(batch, ~joined, labels[start : start + _BATCH], groups, similarity)
        centroids = _centroids(matrix, labels, groups)
    return labels, groups


def _lead_new_groups(
    batch: Any, open_rows: NDArray[np.bool_], batch_labels: NDArray[np.int64], groups: int, similarity: float
) -> int:
    """Greedy leaders among a batch's unplaced rows; writes into ``batch_labels``, returns the new group count."""
    indices = np.flatnonzero(open_rows & (np.asarray(batch.getnnz(axis=1)) > 0))
    if len(indices) == 0:
        return groups
    rows = batch[indices]
    alike = (rows @ rows.T).toarray() >= similarity
    unplaced = np.ones(len(indices), dtype=bool)
    for position in range(len(indices)):
        if not unplaced[position]:
            continue
        followers = alike[position] & unplaced
        batch_labels[indices[followers]] = groups
        unplaced &= ~followers
        groups += 1
    return groups


def _renumber(labels: NDArray[np.int64]) -> tuple[NDArray[np.int64], int]:
    """Labels 0..k-1 in order of first appearance; -1 stays -1."""
    mapping: dict[int, int] = {}
    out = np.full(len(labels), -1, dtype=np.int64)
    for index, label in enumerate(labels.tolist()):
        if label >= 0:
            out[index] = mapping.setdefault(label, len(mapping))
    return out, len(mapping)


def _drop_small(labels: NDArray[np.int64], min_size: int) -> tuple[NDArray[np.int64], int]:
    counts = np.bincount(labels[labels >= 0], minlength=1)
    small = np.flatnonzero(counts < min_size)
    labels = np.where(np.isin(labels, small), -1, labels)
    return _renumber(labels)


def _reassign(matrix: Any, labels: NDArray[np.int64], groups: int, similarity: float) -> NDArray[np.int64]:
    """Every row moves to its most similar centroid, or to none when no centroid reaches ``similarity``."""
    best, score = _best_centroid(matrix, _centroids(matrix, labels, groups))
    return np.where(score >= similarity, best, -1)


def _merge_close_groups(
    matrix: Any, labels: NDArray[np.int64], groups: int, merge_similarity: float
) -> tuple[NDArray[np.int64], int]:
    """Average-linkage merge of the largest groups whose centroids are at least ``merge_similarity`` alike."""
    if groups < 2:
        return labels, groups
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    sizes = np.bincount(labels[labels >= 0], minlength=groups)
    largest = np.argsort(-sizes, kind="stable")[:_MERGE_LIMIT]
    centroids = _centroids(matrix, labels, groups)[largest]
    distance = 1.0 - np.clip((centroids @ centroids.T).toarray().astype(np.float64), 0.0, 1.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    merged = fcluster(tree, t=1.0 - merge_similarity, criterion="distance").astype(np.int64) - 1
    # Groups beyond the limit keep a label of their own, after the merged ones.
    target = np.arange(groups, dtype=np.int64) + len(largest)
    target[largest] = merged
    return _renumber(np.where(labels >= 0, target[np.maximum(labels, 0)], -1))


def _cluster(matrix: Any, *, similarity: float, merge_similarity: float, min_size: int) -> tuple[Any, int]:
    labels, groups = _leader_pass(matrix, similarity)
    for _ in range(_REFINE_PASSES):
        labels, groups = _renumber(_reassign(matrix, labels, groups, similarity))
    labels, groups = _drop_small(labels, min_size)
    # Texts of a dissolved group may still belong to a surviving one.
    labels, groups = _drop_small(_reassign(matrix, labels, groups, similarity), min_size)
    labels, groups = _merge_close_groups(matrix, labels, groups, merge_similarity)
    return labels, groups


# --- describing a group -------------------------------------------------------------------------------------


def _is_cjk_bigram(term: str) -> bool:
    return len(term) == 2 and not term.isascii()


def _shares_a_bigram(word: str, label: str) -> bool:
    return word in label or label in word or any(word[i : i + 2] in label for i in range(len(word) - 1))


def _chain(term: str, candidates: dict[str, float], used: set[str], texts: list[str]) -> str:
    """``term`` grown by overlapping heavy bigrams (up to a four-character word) while most of the texts
    holding it hold the longer word too."""
    holding = [text for text in texts if term in text]
    floor = _CHAIN_WEIGHT * candidates[term]
    word = term
    grown = True
    while grown and len(word) < _MAX_WORD_CHARS:
        grown = False
        for other, weight in candidates.items():
            if weight < floor or not _is_cjk_bigram(other) or other in word:
                continue
            if other[0] == word[-1]:
                longer = word + other[1]
            elif other[1] == word[0]:
                longer = other[0] + word
            else:
                continue
            if sum(longer in text for text in holding) >= _CHAIN_SHARE * len(holding):
                word, grown = longer, True
                used.add(other)
                break
    return word


def _label_terms(ranked: list[tuple[str, float]], texts: list[str]) -> tuple[str, ...]:
    """2–4 telling words: the heaviest centroid terms, CJK bigrams joined back into words where they chain."""
    candidates = dict(ranked[:_LABEL_CANDIDATES])
    top_weight = ranked[0][1] if ranked else 0.0
    used: set[str] = set()
    labels: list[str] = []
    for term, weight in candidates.items():
        if len(labels) >= 4 or (len(labels) >= 2 and weight < _LABEL_MIN_WEIGHT * top_weight):
            break
        if term in used:
            continue
        used.add(term)
        word = _chain(term, candidates, used, texts) if _is_cjk_bigram(term) else term
        # A phrase that shares a word with a label already chosen (手机号登录 after 登录) repeats it.
        if not any(_shares_a_bigram(word, label) for label in labels):
            labels.append(word)
    return tuple(labels)


def _describe(
    rows: NDArray[np.int64], matrix: Any, vocabulary: list[str], ids: list[ItemId], cleaned: list[str]
) -> Topic:
    members = matrix[rows]
    total = np.asarray(members.sum(axis=0)).ravel()
    centroid = total / max(float(np.linalg.norm(total)), 1e-12)
    closeness = np.asarray((members @ centroid.astype(np.float32)).ravel())
    # Stable sort on the canonical order: equal closeness keeps a fixed order.
    ordered = rows[np.argsort(-closeness, kind="stable")]
    heaviest = np.argsort(-centroid, kind="stable")[:PROFILE_TERMS]
    ranked = [(vocabulary[col], round(float(centroid[col]), 4)) for col in heaviest if centroid[col] > 0]
    texts = [cleaned[row] for row in ordered[:_CHAIN_SAMPLE]]
    member_ids = tuple(ids[row] for row in ordered)
    return Topic(
        label_terms=_label_terms(ranked, texts),
        members=member_ids,
        examples=member_ids[:EXAMPLES_PER_TOPIC],
        profile=tuple(ranked),
    )


def group_texts(
    items: Sequence[tuple[ItemId, str]],
    *,
    max_topics: int = 20,
    min_size: int = 3,
    similarity: float = DEFAULT_SIMILARITY,
    merge_similarity: float = DEFAULT_MERGE_SIMILARITY,
) -> list[Topic]:
    """Groups similar texts into at most ``max_topics`` topics of at least ``min_size`` members each.

    ``items`` are (id, text) pairs with distinct ids. Texts alike to nothing are left out. The result is
    the largest topics first, then by label, and does not depend on the order of ``items``.
    """
    if min_size < 1 or max_topics < 0 or not 0 < similarity <= 1 or not 0 < merge_similarity <= 1:
        raise ValueError("min_size ≥ 1, max_topics ≥ 0 and similarities in (0, 1] are required")
    if not items or max_topics == 0:
        return []
    rows = _canonical_order(items)
    ids = [item_id for item_id, _, _ in rows]
    cleaned = [clean_text_ for _, _, clean_text_ in rows]
    try:
        matrix, vocabulary = _vectorize(cleaned)
    except ValueError:  # no token shared by two texts: nothing can be grouped
        return []
    labels, groups = _cluster(matrix, similarity=similarity, merge_similarity=merge_similarity, min_size=min_size)
    topics = [
        _describe(np.flatnonzero(labels == group), matrix, vocabulary, ids, cleaned) for group in range(groups)
    ]
    topics.sort(key=lambda topic: (-topic.size, topic.label, str(topic.members[0])))
    return topics[:max_topics]


# --- across periods -----------------------------------------------------------------------------------------


def _profile_similarity(a: Topic, b: Topic) -> float:
    weights = dict(b.profile)
    dot = sum(weight * weights.get(term, 0.0) for term, weight in a.profile)
    norm = math.sqrt(sum(w * w for _, w in a.profile)) * math.sqrt(sum(w * w for _, w in b.profile))
    return dot / norm if norm else 0.0


def match_topics(
    current: Sequence[Topic], previous: Sequence[Topic], *, min_similarity: float = MATCH_SIMILARITY
) -> dict[str, int]:
    """Previous-period counts under the current topics' labels, for ``topic_trends``.

    Each previous topic counts towards the current topic whose profile is most like its own (at least
    ``min_similarity``); a current topic nothing matches counts 0, so it reads as new. Group the previous
    period with a generous ``max_topics`` so that a topic small then is still there to be matched.
    Topics are keyed by label: two current topics with the same label share one count.
    """
    counts: Counter[str] = Counter({topic.label: 0 for topic in current})
    for old in previous:
        # Most similar first; equal similarity goes to the first label, so the result is fixed.
        scored = sorted((-_profile_similarity(old, new), new.label) for new in current)
        if scored and -scored[0][0] >= min_similarity:
            counts[scored[0][1]] += old.size
    return dict(counts)


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def _direction(current: int, previous: int, change: float, steady_band: float) -> TrendDirection:
    if previous == 0 and current > 0:
        return "new"
    if current == 0 and previous > 0:
        return "gone"
    if change > steady_band:
        return "rising"
    if change < -steady_band:
        return "falling"
    return "steady"


def topic_trends(
    current: Mapping[str, int], previous: Mapping[str, int], *, steady_band: float = 0.01
) -> list[Trend]:
    """Each key's share of its period's total, now and before, and which way it moved.

    Keys of either period appear; a key missing from a period counts 0 there. Shares are fractions of
    the period's total count (0 when the period is empty), ``share_change`` is current minus previous.
    Ordered by current count, then previous count, largest first, then by key.
    """
    total_now, total_before = sum(current.values()), sum(previous.values())
    trends = []
    for key in set(current) | set(previous):
        now, before = current.get(key, 0), previous.get(key, 0)
        share_now, share_before = _share(now, total_now), _share(before, total_before)
        change = share_now - share_before
        trends.append(Trend(key, now, before, share_now, share_before, change,
                            _direction(now, before, change, steady_band)))
    trends.sort(key=lambda trend: (-trend.current, -trend.previous, trend.key))
    return trends
