"""Triage of a customer's message: category, priority, sentiment and escalation risk (pure logic, no Django).

Chinese, English and mixed text. Every judgement is a ``Finding``: a value, a confidence (0–1, two
decimals) and reasons an agent can read, each a stable code plus the customer's own words that triggered
it, sliced from the message as written (a full-width "１２３１５" comes back as "１２３１５"). The Django
layer turns the codes into sentences.

Reading the text
    Folded as NFKC and lower case fold it (full-width letters, digits and punctuation to ASCII), character
    by character so that every position maps back to the original; an ellipsis "…" becomes one dot, not
    three. Chinese terms match as substrings; Latin terms on word boundaries ("scam" is not in "scampi",
    "fire" not in "firewall"), also next to Chinese ("找lawyer"). "Sue" and "Court", a name and a street,
    count only in the phrases of a threat ("will sue", "in court"). Only the first ``MAX_BODY_CHARS``
    characters of the body are read: the customer's newest words are on top, quoted history below.

Negation
    A threat preceded, in the same clause, by a negation and nothing but modal or threat verbs does not
    fire ("我不想投诉", "不会去12315", "I don't want to sue", "no need for a lawyer"). A clause ends at
    punctuation, at 就/否则/不然/但是/"but"/"unless", after 不得不/不排除/不惜/不怕/"hesitate"/"afraid"/
    "choice", and after a question such as 是不是, so "不退款就起诉", "I won't hesitate to sue" and
    "你们是不是骗子" are what they seem. A category keyword the
    customer says they do not want ("我不想投诉", "I don't want a refund") does not count. A negation flips a
    sentiment word ("不太满意", "not happy" are negative; "not bad" is faint praise, half as strong) and
    cancels an urgency word ("不急").

Reason codes
    Category:
    ``emergency_keywords``   safety or outage words (冒烟, 起火, 触电, 全部瘫痪, fire, injured, outage)
    ``category_keywords``    words of a fault, complaint or service request (故障, 投诉, 退款, broken, refund)
    ``question_words``       a question and nothing more specific (请问, 怎么, 多少钱, how do I, ?)
    ``no_signal``            nothing to go on (every finding uses it)
    Priority:
    ``category_priority``    the category's usual priority: emergency urgent; fault, complaint high; others normal
    ``urgency_words``        the customer asks for speed (紧急, 马上, 尽快, urgent, ASAP): at least high
    ``high_risk``            the escalation risk is high: at least high
    ``thanks_only``          only thanks, no question or request: low
    ``suggestion_only``      only a suggestion, calm, no risk: low
    ``vip_customer``         a VIP or core customer: one step up, never above urgent
    Sentiment:
    ``negative_words``       lexicon words, with the negation or intensifier before them ("非常失望", "not happy")
    ``positive_words``       the same, positive ("非常感谢", "not bad")
    ``emphatic_punctuation`` "！！！" strengthens the tone; "???" reads as exasperation
    ``all_caps``             a shouted word of four or more capitals ("NEVER")
    Risk:
    ``regulator_threat``     a regulator, consumer association or hotline (12315, 消协, 工信部, FTC, ombudsman)
    ``media_threat``         the press or social media (找媒体曝光, 发微博, go to the press, post it on twitter)
    ``lawyer_threat``        a lawyer, a court or the police (律师, 起诉, 打官司, 报警, will sue, legal action)
    ``abusive_language``     insults and swearing (垃圾, 骗子, 滚, scam, idiots)
    ``desperate_language``   despair (崩溃, 绝望, 求求你们, desperate, at my wit's end)
    ``repeated_issue``       the customer says it happened before (第三次, 多次, 又一次, third time, still not fixed)
    ``repeat_contact``       the customer opened two or more other tickets in the last 7 days
    ``negative_sentiment``   the message reads negative

Risk
    Any regulator, media or lawyer threat: high. Otherwise points (each signal counted once): abusive 2,
    desperate 2, repeated issue 1, repeat contact 1 (two tickets) or 2 (three or more), negative sentiment
    1; 0 none, 1–2 low, 3–4 medium, 5 or more high. So abusive or desperate words in a negative message are
    medium, repeat contact alone is low, swearing on the third ticket this week is high. Confidence: a
    threat 0.8, +0.05 for each further signal, at most 0.95; points 0.5 + 0.1 per point, at most 0.9; no
    signal 0.7.

Category
    Each keyword adds its weight (strong safety words 3, most category words 2, weak ones 1, suggestion
    words 0.75, question words 0.5 up to 1 in the subject and 1 in the body), doubled in the subject. A
    strong safety word makes it an emergency whatever else is said; otherwise the highest score wins, ties
    going to the more serious category. Confidence 0.5 + 0.5 × (best − second) / (best + 1), at least 0.1;
    no evidence: consultation at 0.3.

Priority
    The category's priority; low for thanks or a calm suggestion alone; at least high for urgency words or
    high risk; then one step up for VIP and core customers. Confidence: that of the last rule that set the
    level (the category's confidence, at least 0.5; 0.6 for the low rules; 0.7 for urgency words; the
    risk's confidence for high risk).

Sentiment
    Word weights summed (±1, ±2 for strong words, ±0.5 for politeness such as 谢谢; ×1.5 after an
    intensifier such as 非常/太/very; after a negation ×−1 for a positive word, ×−0.5 for a negative one),
    −0.5 for each "??" run, then ×(1 + 0.25 × emphasis), emphasis being the "!!" runs and shouted words, at
    most 4; squashed to −1..1 by s / √(s² + 4). Negative at −0.3 or below, positive at 0.3 or above.
    Confidence 0.5 + |score| / 2 when negative or positive; when neutral 0.5 + (0.3 − |score|) with
    evidence, 0.6 without.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate
from math import sqrt
from typing import NamedTuple

CATEGORIES = ("consultation", "service-request", "complaint", "fault", "emergency")
PRIORITIES = ("low", "normal", "high", "urgent")  # ascending
SENTIMENTS = ("negative", "neutral", "positive")
RISKS = ("none", "low", "medium", "high")
TIERS = ("standard", "vip", "core")
REASON_CODES = frozenset({
    "emergency_keywords", "category_keywords", "question_words", "no_signal",
    "category_priority", "urgency_words", "high_risk", "thanks_only", "suggestion_only", "vip_customer",
    "negative_words", "positive_words", "emphatic_punctuation", "all_caps",
    "regulator_threat", "media_threat", "lawyer_threat", "abusive_language", "desperate_language",
    "repeated_issue", "repeat_contact", "negative_sentiment",
})
MAX_BODY_CHARS = 5000


@dataclass(frozen=True)
class Reason:
    code: str  # one of REASON_CODES
    evidence: str  # the customer's words as written; "" when the reason is not in the text


@dataclass(frozen=True)
class Finding:
    value: str
    confidence: float  # 0–1, two decimals
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Triage:
    category: Finding  # a ticket category slug, CATEGORIES
    priority: Finding  # PRIORITIES
    sentiment: Finding  # SENTIMENTS
    sentiment_score: float  # -1..1, two decimals
    risk: Finding  # RISKS


# ------------------------------------------------------------------------------------------------ the text


def _fold(text: str) -> str:
    """NFKC and lower case. An ellipsis becomes one dot, not three, so that "……" keeps every position."""
    folded = unicodedata.normalize("NFKC", text.replace("\u2026", ".").replace("\u2025", ".")).lower()
    # Curly apostrophes (don’t, wit’s) survive NFKC; the English terms are written with straight ones.
    return folded.replace("\u2019", "'")


class _Folding(dict[int, str]):
    """Code point → its folded form, filled on first sight."""

    def __missing__(self, code: int) -> str:
        folded = _fold(chr(code))
        if len(self) < 20_000:  # arbitrary input must not grow the cache without bound
            self[code] = folded
        return folded


_FOLDING = _Folding()
# Nearly every message is made of these: ASCII, CJK ideographs and punctuation, full-width forms, common
# typographic punctuation. Each of them folds to exactly one character, none combines with its neighbour,
# and ``_fold_plain`` folds them as ``_fold`` does, but without NFKC's full algorithm (0.15 µs a character).
_PLAIN = re.compile(r"[\x00-\x7f\u2010\u2012-\u2016\u2018-\u2023\u2026\u2030-\u2032\u203b\u3000-\u3035"
                    r"\u303b-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e]*")
_LATIN = re.compile(r"[a-z0-9]")
_WIDE = re.compile(r"[\u3000\u2026\u2019\uff01-\uff5e]")
_NARROW = {"\u3000": " ", "\u2026": ".", "\u2019": "'",
           **{chr(code): chr(code - 0xFEE0).lower() for code in range(0xFF01, 0xFF5F)}}


def _fold_plain(text: str) -> str:
    folded = text.lower()
    for wide in set(_WIDE.findall(folded)):  # a few different ones, many times each
        folded = folded.replace(wide, _NARROW[wide])
    return folded


class _Text:
    """A message as written and folded; positions in the folded text map back to the customer's words."""

    def __init__(self, original: str) -> None:
        self.original = original
        self._ends: list[int] | None = None
        if _PLAIN.fullmatch(original):
            self.folded = _fold_plain(original)
        else:
            # One character at a time, so that each one's place in the folded text is known: whole-text NFKC
            # may both lengthen (ﬁ → fi) and shorten (e + ◌́ → é) it and move positions without changing
            # the length.
            pieces = list(map(_FOLDING.__getitem__, map(ord, original)))
            self.folded = "".join(pieces)
            if len(self.folded) != len(original):
                self._ends = list(accumulate(map(len, pieces)))
        self.latin = _LATIN.search(self.folded) is not None
        breaks = [0, *(match.end() for match in _CLAUSE_BREAK.finditer(self.folded))]
        if self.latin:
            breaks.extend(match.end() for match in _CLAUSE_BREAK_EN.finditer(self.folded))
            breaks.sort()
        self._breaks = breaks
        # Most terms have no negation before them: knowing where the negations are spares looking for one.
        self.negations = [match.start() for match in _NEGATION_START.finditer(self.folded)]
        if self.latin:
            self.negations.extend(match.start() for match in _NEGATION_START_EN.finditer(self.folded))
            self.negations.sort()

    def words(self, start: int, end: int) -> str:
        """The original text of the folded span [start, end)."""
        if self._ends is None:
            return self.original[start:end]
        return self.original[bisect_right(self._ends, start) : bisect_right(self._ends, end - 1) + 1]

    def folded_position(self, index: int) -> int:
        if self._ends is None or index == 0:
            return index
        return self._ends[index - 1]

    def clause_start(self, position: int) -> int:
        """Where the clause that leads up to ``position`` begins in the folded text (a few words back at most)."""
        return max(position - _CLAUSE_WINDOW, self._breaks[bisect_right(self._breaks, position) - 1])


# --------------------------------------------------------------------------------------------- matching


def _zh(*lines: str) -> tuple[str, ...]:
    """Chinese terms written as words separated by spaces: a list a support lead can read and extend."""
    return tuple(term for line in lines for term in line.split())


_IGNORE = ""  # the label of look-alikes (垃圾短信, 滚筒, 不好意思): matched to keep a shorter term inside quiet
_WORD_END = "(?![a-z0-9])"

_Trie = dict[str, "_Trie"]


@dataclass(frozen=True)
class _Lexicon:
    label: str
    weight: float = 1.0
    zh: tuple[str, ...] = ()  # literal, matched anywhere (from a word start when they start with a Latin letter)
    en: tuple[str, ...] = ()  # literal, lower case, matched as whole words; spaces match any whitespace
    patterns: tuple[str, ...] = ()  # regular expressions starting with a literal CJK character
    en_patterns: tuple[str, ...] = ()  # regular expressions starting with a letter, matched as whole words


class _Hit(NamedTuple):  # a tuple: one is made for every term found, and a dataclass costs four times as much
    start: int  # in the folded text
    end: int
    label: str
    weight: float


class _Matcher:
    """The terms of a family of lexicons, found by two regular expressions in one pass over the text each.

    Both are tries of the terms, so that the engine compares a character once for all the terms that share
    the prefix before it, not once for each term. Terms that start with a Latin letter or digit have their
    own expression, anchored at word starts (``\\b`` in ASCII mode, so that "找lawyer" has one); the others
    are alternatives that each start with a literal character, which lets the engine skip the positions
    where none can start.
    """

    def __init__(self, lexicons: Iterable[_Lexicon]) -> None:
        self._literals: dict[str, tuple[str, float]] = {}
        self._patterns: list[tuple[re.Pattern[str], str, float]] = []
        latin: list[list[str]] = []
        other: list[list[str]] = []
        for lexicon in lexicons:
            entry = (lexicon.label, lexicon.weight)
            for term in lexicon.zh:
                self._add_literal(term, entry)
                atoms = [re.escape(char) for char in term]
                if _is_latin(term[0]):
                    latin.append([*atoms, _WORD_END] if _is_latin(term[-1]) else atoms)
                else:
                    other.append(atoms)
            for term in lexicon.en:
                for variant in dict.fromkeys((term, term.replace("'", ""))):
                    self._add_literal(variant, entry)
                    latin.append([r"\s+" if char == " " else re.escape(char) for char in variant] + [_WORD_END])
            for source in (*lexicon.patterns, *lexicon.en_patterns):
                self._patterns.append((re.compile(source), *entry))
            other.extend([source[0], source[1:]] for source in lexicon.patterns)
            latin.extend([source[0], source[1:] + _WORD_END] for source in lexicon.en_patterns)
        self._latin = re.compile(rf"\b(?:{_alternatives(latin)})", re.ASCII)
        self._other = re.compile(_alternatives(other))
        self._other_ascii = any(atoms[0].isascii() for atoms in other)

    def _add_literal(self, term: str, entry: tuple[str, float]) -> None:
        if self._literals.setdefault(term, entry) != entry:
            raise ValueError(f"the term {term!r} is in two lexicons of one matcher")

    def hits(self, text: _Text) -> list[_Hit]:
        # Each pass costs some 5 ns a character even where nothing can start: skip the ones that cannot match.
        found = [self._hit(match) for match in self._latin.finditer(text.folded)] if text.latin else []
        other = ([self._hit(match) for match in self._other.finditer(text.folded)]
                 if self._other_ascii or not text.folded.isascii() else [])
        if found and other:
            # A term of one expression may overlap one of the other ("发b站"): the earlier, then longer, wins.
            found.extend(other)
            found.sort(key=lambda hit: (hit.start, -hit.end))
            kept, reach = [], 0
            for hit in found:
                if hit.start >= reach:
                    kept.append(hit)
                    reach = hit.end
            found = kept
        else:
            found = found or other
        return [hit for hit in found if hit.label != _IGNORE]

    def _hit(self, match: re.Match[str]) -> _Hit:
        return _Hit(match.start(), match.end(), *self._identify(match.group()))

    def _identify(self, matched: str) -> tuple[str, float]:
        entry = self._literals.get(matched) or self._literals.get(" ".join(matched.split()))
        if entry is not None:
            return entry
        for pattern, label, weight in self._patterns:
            if pattern.fullmatch(matched):
                return label, weight
        raise LookupError(f"{matched!r} matched no term")  # the expressions are built from the terms


def _is_latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _alternatives(sequences: Iterable[list[str]]) -> str:
    # No group around the top-level alternatives: the engine then sees that each starts with a literal.
    trie = _trie(sequences)
    return "|".join(atom + _trie_source(child) for atom, child in sorted(trie.items()))


def _trie(sequences: Iterable[list[str]]) -> _Trie:
    root: _Trie = {}
    for atoms in sequences:
        node = root
        for atom in atoms:
            node = node.setdefault(atom, {})
        node[""] = {}  # a term ends here
    return root


def _trie_source(node: _Trie) -> str:
    # Continuations come before stopping at a node (a greedy optional group), so the longest term wins.
    branches = [atom + _trie_source(child) for atom, child in node.items() if atom]
    if not branches:
        return ""
    body = "|".join(branches)
    if "" in node:
        return f"(?:{body})?"
    return body if len(branches) == 1 else f"(?:{body})"


# A clause ends at punctuation and at words after which a negation no longer reaches the next verb:
# "不退款就起诉" (就: the condition is over), "不得不投诉", "I won't hesitate to sue", "no choice but to", and
# after a question of the form A-not-A ("你们是不是骗子" asks, it does not deny).
_CLAUSE_BREAK = re.compile("|".join((*map(re.escape, ",.;:!?\n。、~…"),
                                     *_zh("就 否则 不然 但是 可是 然而 不得不 不排除 不惜 不怕 毫不 迫不得已 是不是",
                                          "有没有 会不会 能不能 要不要 可不可以 对不对 行不行"))))
_CLAUSE_BREAK_EN = re.compile(r"\b(?:but|unless|otherwise|hesitate|afraid|choice|option|alternative)\b", re.ASCII)
_CLAUSE_WINDOW = 40
_ZH_REACH = 12  # Chinese words before a term are looked for this close to it


@dataclass(frozen=True)
class _Before:
    """Words that end right before a term, in its clause (expressions anchored at the term, ``$``)."""

    zh: re.Pattern[str]
    en: re.Pattern[str]
    negation: bool = False  # the words start with a negation (``_NEGATION_START``)

    def find(self, text: _Text, start: int) -> int | None:
        """Where the words begin in the folded text, if they are there."""
        begin = text.clause_start(start)
        if self.negation:
            first = bisect_left(text.negations, begin)
            if first == len(text.negations) or text.negations[first] >= start:
                return None
        found = (self.zh.search(text.folded, max(begin, start - _ZH_REACH), start)
                 or self.en.search(text.folded, begin, start))
        return None if found is None else found.start()


_NEGATOR_EN = (r"\b(?:not|no|never|without|cannot|nothing|dont|doesnt|didnt|wont|cant|isnt|wasnt|arent|havent|hasnt"
               r"|(?:do|does|did|is|are|was|were|have|has|had|would|could|should|wo|ca|must|need|ai)n't)")
_NEGATION_START = re.compile("[不没别未勿无并]")  # the first characters of the Chinese negations below
_NEGATION_START_EN = re.compile(_NEGATOR_EN, re.ASCII)
# A threat is negated only when nothing but modal, threat and function words stand between: "我不想去
# 12315" and "I don't want to go to the press" are negated, "不解决我要投诉" and "if you don't refund me I
# will sue" are not.
_THREAT_NEGATION = _Before(
    re.compile(r"(?:不|没|别|未|勿|无需|无须|无意)(?:有|想过|想|会|要|打算|准备|用|必|需要|需|须|意|是|再|去|找|到|向|跟|给|打"
               r"|上|发|投诉|举报|告|联系|走|敢|曾)*\s*$"),
    re.compile(rf"{_NEGATOR_EN}(?:\s+(?:want|wish|plan|planning|intend|intending|intention|going|gonna|need|have|had"
               r"|to|a|an|the|my|any|will|would|be|for|of|call|calling|contact|contacting|get|getting|go|take|taking"
               r"|hire|hiring|involve|involving|bring|bringing|post|posting|complain|complaining|report|reporting"
               r"|file|filing|threaten|threatening|trying|it|this|you|with|about|up|on|into|legal|yet|ever|even"
               r"|really|me|i|we|our|your))*\s*$", re.ASCII),
    negation=True,
)
_SENTIMENT_NEGATION = _Before(
    re.compile(r"(?:不|没|别|未)(?:有|是|太|很|怎么|够|算是|算|那么|大|特别|非常|十分|会|能|再|觉得|感到|咋)*\s*$"),
    re.compile(rf"{_NEGATOR_EN}(?:\s+(?:very|so|too|really|that|at|all|be|been|being|feel|feeling|quite"
               r"|particularly|exactly|a|an|the|overly|much|of|any|as|remotely|entirely|i|am|it|is|was|this))*\s*$",
               re.ASCII),
    negation=True,
)
_INTENSIFIER = _Before(
    re.compile(r"(?:非常|太|特别|十分|极其|极度|超级|超|真的|真|很|相当|实在|巨|贼|好|最)\s*$"),
    re.compile(r"\b(?:so|very|extremely|really|too|totally|absolutely|incredibly|utterly|super|completely|deeply"
               r"|truly|most|such|terribly|seriously)\s+$", re.ASCII),
)
# A category word the customer says they do not want: "我不想投诉", "I don't want a refund".
_REFUSAL = _Before(
    re.compile(r"(?:不想|不要|不用|不必|无需|无须|不需要|不打算|没必要|不是要|不是想|并不想)"
               r"(?:再|去|找|要|申请|办理|提|进行|你们)*\s*$"),
    re.compile(r"\b(?:(?:don't|dont|do not|not|never)\s+(?:want|need|wish|plan|asking|looking)"
               r"(?:\s+(?:to|a|an|any|for|the|file|make|get|ask|request|another|me|my))*"
               r"|no need(?:\s+(?:to|for|a|an|any|the))*)\s*$", re.ASCII),
    negation=True,
)
_PUNCTUATION_RUN = re.compile(r"[!?][!?]+")  # a class first, not a repeat: the engine skips to one
_SHOUTED = re.compile(r"[A-Z](?<![A-Za-z][A-Z])[A-Z]{3,}(?![A-Za-z])")  # a class first: fast to skip to


# ------------------------------------------------------------------------------------------- the lexicons

_SPAM = _zh("垃圾短信 垃圾邮件 垃圾电话 垃圾信息 垃圾广告 垃圾桶 垃圾箱 垃圾袋 垃圾分类 垃圾清理 垃圾文件")
_ROLLING = _zh("滚动 滚筒 滚轮 滚屏 滚珠 滚梯 滚烫 翻滚 滚雪球 滚瓜烂熟")
_CRASHING = _zh("系统 程序 软件 应用 页面 网站 网页 服务器 手机 电脑 游戏 平台 设备 app")  # 系统崩溃 is a fault
_CRASHED = tuple(f"{thing}崩溃" for thing in _CRASHING)


def _not_after(words: Iterable[str], term: str) -> str:
    """A pattern for ``term`` unless one of ``words`` comes right before it.

    A lookbehind rather than ignored look-alikes: these start with common characters (系, 手, 服 …), and every
    position where a term may start costs the engine a try.
    """
    by_length: dict[int, list[str]] = {}
    for word in words:
        by_length.setdefault(len(word), []).append(re.escape(word))
    return term + "".join(f"(?<!(?:{'|'.join(group)}){term})" for group in by_length.values())


_ABUSE = _Lexicon(
    "abusive_language",
    # Not 妈的 (我妈的手机: my mother's phone), nor 尼玛 (a Tibetan name), nor "sb" (English for somebody).
    zh=_zh("垃圾 骗子 骗人 滚 滚蛋 傻 傻逼 傻b 傻x 煞笔 脑残 白痴 弱智 智障 废物 王八蛋 混蛋 他妈的 去死 狗屎 坑爹",
           "黑店 奸商 无耻 不要脸 草泥马 操你"),
    en=("scam", "scams", "scammer", "scammers", "scamming", "idiot", "idiots", "idiotic", "stupid", "moron", "morons",
        "wtf", "stfu", "crap", "crappy", "bastard", "bastards", "thieves", "crooks", "clowns", "liars", "rip-off",
        "ripoff", "piss off", "cnm", "tmd", "nmsl"),
    en_patterns=(r"f[u*@#]+c?k+(?:ing|in|ed|er|ers|s)?", r"sh[i*]t(?:ty|s)?", r"bullsh[i*]t", r"a[s*]{2}holes?"),
)
_DESPAIR = _Lexicon(
    "desperate_language",
    zh=_zh("绝望 活不下去 不想活了 急死了 急死人 求求你们 求求你 求你们了 求你了 走投无路 没法活了 快疯了 要疯了",
           "受不了了 救救我 心态崩了 欲哭无泪 实在没办法了 要哭了"),
    en=("desperate", "desperately", "at my wit's end", "wit's end", "wits' end", "last chance", "last resort",
        "begging you", "i beg you", "can't take it anymore", "can't take this anymore", "losing my mind",
        "going crazy", "in tears"),
    patterns=(_not_after(_CRASHING, "崩溃"),),
)
# Matched and ignored in the risk and sentiment lexicons, so that the abusive or desperate word inside is quiet.
_LOOK_ALIKES = (*_SPAM, *_ROLLING, *_zh("傻眼 去死皮 打滚 气炸"))
_THREATS = ("regulator_threat", "media_threat", "lawyer_threat")
_PLATFORMS = _zh("微博 抖音 小红书 朋友圈 知乎 b站 头条 网上 快手 贴吧")
_ORDINALS_EN = ("second", "third", "fourth", "fifth", "sixth", "seventh", "tenth", "nth", "2nd", "3rd", "4th", "5th",
                "6th", "7th", "8th", "9th", "10th")
_COUNTS_ZH = (*"二两三四五六七八九十几", *map(str, range(2, 21)))

_RISK = _Matcher((
    _Lexicon(_IGNORE, zh=(*_LOOK_ALIKES, *_zh("再次感谢 再次确认 再次购买 再次光临 再次登录 工商银行 多媒体 流媒体",
                                              "媒体播放 曝光度 曝光不足 曝光过度 曝光补偿 曝光时间 自动曝光 长曝光",
                                              "警告 广告 报告 公告 转告")),
        en=("voltage regulator", "pressure regulator", "fcc id")),
    _Lexicon(
        "regulator_threat",
        # 有关部门 and 相关部门 also name the company's own departments (请转给相关部门): only with a verb of going.
        zh=(*_zh("12315 12300 12358 12378 打12345 拨打12345 12345热线 12345投诉 市长热线 消协 消费者协会 消保委",
                 "市场监管局 市场监督管理局 市场监管 市监局 工商局 工商部门 工商 银保监 银保监会 金融监管局 证监会",
                 "人民银行 工信部 通信管理局 通管局 电信管理局 主管部门 监管部门 政府部门 信访 举报你们 去举报",
                 "实名举报 举报到"),
            *(f"{verb}{department}" for verb in _zh("向 找 去 到 告到") for department in _zh("有关部门 相关部门"))),
        en=("consumer association", "consumers association", "consumer council", "consumer protection",
            "consumer affairs", "consumer rights", "regulator", "regulators", "regulatory", "trading standards", "bbb",
            "better business bureau", "ftc", "fcc", "ofcom", "ofgem", "ombudsman", "cfpb", "attorney general",
            "report you to", "report this to", "file a complaint with"),
    ),
    _Lexicon(
        "media_threat",
        zh=(*_zh("媒体 找媒体 媒体曝光 找媒体曝光 曝光 记者 找记者 电视台 报社 黑猫投诉 315晚会 上热搜 让大家看看",
                 "让大家评评理 让网友评评理 让所有人都知道 让大家都知道"),
            *(f"{verb}{place}" for verb in _zh("发 发到 发在 发个 上") for place in _PLATFORMS),
            *(f"{place}{tail}" for place in _PLATFORMS for tail in _zh("上曝光 曝光 上见 见 上说 评理"))),
        en=("to the press", "to the media", "to the papers", "to the news", "contact the press", "contact the media",
            "go public", "going public", "journalist", "journalists", "reporter", "reporters", "review everywhere",
            "reviews everywhere", "bad review", "bad reviews", "negative review", "negative reviews", "one-star review",
            "1-star review", "one star review", "1 star review", "trustpilot", "go viral", "tell everyone",
            "tell everybody", "warn everyone", "warn others", "warn other customers"),
        en_patterns=tuple(
            rf"{verb}(?:\s+(?:this|it|everything|about\s+(?:this|it|you)))?\s+(?:on|to|all\s+over)\s+(?:twitter|x"
            r"|facebook|instagram|tiktok|reddit|youtube|linkedin|weibo|social\s+media|the\s+internet|online)"
            for verb in ("post", "posting", "share", "sharing", "put", "putting", "tweet", "tweeting")),
    ),
    _Lexicon(
        "lawyer_threat",
        zh=_zh("律师 律师函 起诉 法院 打官司 法律途径 法律手段 法律责任 诉讼 仲裁 告你们 告你 告上法庭 法庭 维权 报警"),
        # "Sue" and "Court" are also a name and a street: the verb and the noun only in the phrases of a threat.
        en=("lawyer", "lawyers", "attorney", "attorneys", "suing", "sued", "lawsuit", "legal action",
            "legal proceedings", "small claims", "solicitor", "solicitors", "litigation", "legal team", "the police",
            "police report", "sue you", "sue u", "sue them", "sue your", "sue the", "sue this", "will sue",
            "i'll sue", "going to sue", "gonna sue", "to sue", "and sue", "to court", "in court", "court case",
            "court action", "court order"),
    ),
    _ABUSE,
    _DESPAIR,
    _Lexicon(
        "repeated_issue",
        zh=(*_zh("又一次 多次 再次 好几次 无数次 一次又一次 反复 三番五次 屡次 不止一次 还是没解决 还没解决",
                 "还是没有解决 仍然没 依然没 至今没 到现在还没 又坏了 又出问题 两次了"),
            *(f"第{count}次" for count in _COUNTS_ZH), *(f"{count}次了" for count in _COUNTS_ZH),
            *(f"{count}次电话" for count in _COUNTS_ZH),
            *(f"{verb}了{count}次" for verb in _zh("打 联系 找 问 反映 投诉 催") for count in _COUNTS_ZH)),
        # Not "once again": it closes polite thanks as often as complaints.
        en=("again and again", "time and again", "over and over", "yet again", "multiple times", "several times",
            "many times", "countless times", "repeatedly", "still not fixed", "still not resolved",
            "still not working", "still not solved", "still not sorted", "still broken", "still waiting",
            "still hasn't been", "still haven't", "how many times", *(f"{ordinal} time" for ordinal in _ORDINALS_EN)),
    ),
))

_URGENCY = "urgency"
_QUESTION = "question"
_SUGGESTION = "suggestion"
_CATEGORY = _Matcher((
    # Products and phrases with a safety word in their name.
    _Lexicon(_IGNORE, zh=_zh("气炸 电脑中毒"),
             en=("fire tv", "fire stick", "kindle fire", "fire tablet", "smoke detector", "smoke detectors",
                 "smoke alarm", "smoke alarms", "emergency contact")),
    _Lexicon(
        "emergency", 3.0,
        zh=_zh("起火 着火 失火 冒烟 触电 漏电 受伤 爆炸 炸了 烧起来 自燃 烫伤 烧伤 流血 食物中毒 煤气中毒",
               "一氧化碳中毒 煤气泄漏 燃气泄漏 漏煤气 安全隐患 安全事故 危险 不安全 送医院 数据泄露 全部瘫痪",
               "全面瘫痪 大面积瘫痪 大面积故障 大面积断网 所有人都无法 所有人都不能 所有用户都无法 所有用户都不能"),
        en=("fire", "on fire", "caught fire", "smoke", "smoking", "sparks", "sparking", "electric shock",
            "electrocuted", "injured", "injury", "burned", "burnt", "explosion", "exploded", "gas leak",
            "outage for everyone", "down for everyone", "everyone is affected", "nobody can log in",
            "no one can log in", "data breach", "dangerous", "danger", "safety hazard", "emergency"),
    ),
    # An outage is an emergency too, but these words alone do not outweigh the rest of the message.
    _Lexicon("emergency", 2.0, zh=_zh("瘫痪 全部断网"), en=("outage",)),
    _Lexicon(
        "fault", 2.0,
        zh=(*_zh("坏了 故障 打不开 报错 无法登录 登录不了 登不上 闪退 死机 黑屏 白屏 卡死 无法使用 不能用 用不了",
                 "没反应 失灵 不工作 断网 没信号 无信号 连不上 无法连接 加载不出来 充不进电 不开机 开不了机 漏水",
                 "维修 报修 坏掉 损坏"), *_CRASHED),
        en=("broken", "error", "errors", "crash", "crashes", "crashed", "crashing", "bug", "bugs", "glitch", "fault",
            "faulty", "defective", "not working", "doesn't work", "does not work", "don't work", "stopped working",
            "won't work", "won't start", "won't turn on", "won't load", "won't open", "can't log in", "cannot log in",
            "can't login", "cannot login", "unable to log in", "unable to login", "can't sign in", "cannot sign in",
            "unable to connect", "can't connect", "cannot connect", "no signal", "no internet", "keeps crashing",
            "freezes", "frozen", "freezing", "not loading", "blank screen", "black screen", "repair"),
    ),
    _Lexicon("fault", 1.0, zh=_zh("卡顿 异常 出错 错误 失败 异响 很卡 网速慢"),
             en=("failed", "fails", "failure", "slow", "dead", "is down")),
    _Lexicon(
        "complaint", 2.0,
        zh=_zh("投诉 不满 不满意 态度差 态度不好 态度恶劣 态度很差 态度太差 态度极差 服务差 服务太差 服务很差 太差",
               "很差 差评 不负责 敷衍 推卸责任 踢皮球 没人管 没人理 没人处理 虚假宣传 乱收费 乱扣费 多扣 欺骗消费者",
               "霸王条款 不合理 欺诈 坑人"),
        en=("complaint", "complain", "complaining", "unacceptable", "rude", "unprofessional", "terrible service",
            "poor service", "bad service", "worst service", "disappointed", "disappointing", "not happy", "unhappy",
            "dissatisfied", "overcharged", "misleading", "false advertising", "ripped off"),
    ),
    # Lighter than a question, so that "你们建议我怎么做？" stays a consultation.
    _Lexicon(_SUGGESTION, 0.75, zh=_zh("建议 意见 希望能改进 改进 提个建议 希望增加 反馈"),
             en=("suggestion", "suggestions", "feedback", "improvement", "feature request", "would be nice",
                 "it would be great if")),
    _Lexicon(
        "service-request", 2.0,
        zh=_zh("退款 退货 换货 退换货 退换 修改地址 改地址 更改地址 地址填错 开发票 开票 发票 取消订单 重置密码",
               "修改密码 改密码 找回密码 忘记密码 退订 销户 注销 补发 开通 换套餐 改套餐 退钱 预约 上门安装 补办",
               "过户 催发货"),
        en=("refund", "refunds", "return", "returns", "exchange", "replacement", "change address",
            "change my address", "update my address", "wrong address", "invoice", "receipt", "vat invoice",
            "cancel my order", "cancel order", "cancellation", "cancel my subscription", "reset password",
            "reset my password", "forgot my password", "forgotten my password", "unsubscribe", "close my account",
            "delete my account", "change my plan", "switch plan", "resend", "redeliver", "send a new one"),
    ),
    _Lexicon("service-request", 1.0, zh=_zh("取消 办理 升级 变更 安装 发货 快递 物流"),
             en=("cancel", "upgrade", "downgrade", "booking", "appointment", "installation", "delivery", "tracking")),
    _Lexicon(
        _QUESTION, 0.5,
        zh=_zh("请问 怎么 怎样 如何 多少钱 多少 能否 能不能 可不可以 可以吗 是否 有没有 什么时候 哪里 哪儿 哪个 吗",
               "咨询 了解一下 问一下 想问 ?"),
        en=("how do i", "how can i", "how to", "how much", "how long", "what is", "what's", "what are", "when will",
            "when can", "where is", "where can", "which", "can i", "could you tell", "is it possible", "do you",
            "does it", "is there", "are there", "price", "cost", "wondering", "question"),
    ),
    _Lexicon(_URGENCY, zh=_zh("紧急 加急 急用 急需 很急 着急 急 马上 立刻 立即 尽快 赶紧 十万火急 今天之内 今天必须"),
             en=("urgent", "urgently", "asap", "immediately", "right now", "right away", "as soon as possible",
                 "time-sensitive", "time sensitive")),
))

_SENTIMENT = _Matcher((
    _Lexicon(_IGNORE, zh=(*_LOOK_ALIKES, *_zh("麻烦 不好意思 好不好 差不多 出差 差价 差额 相差 时差 误差 差点 偏差",
                                              "差异 慢慢")),
        en=("good morning", "good afternoon", "good evening", "good day", "good night")),
    # Thanks that close nearly every message, angry ones too, count for little.
    _Lexicon("positive", 0.5, zh=_zh("谢谢 多谢 辛苦了 麻烦了"), en=("thanks", "thank you", "thank", "thx", "ty")),
    _Lexicon("positive", 1.0,
             zh=_zh("感谢 满意 不错 很好 挺好 真好 太好了 好评 棒 赞 给力 专业 耐心 及时 高效 周到 热情 贴心 点赞",
                    "喜欢 开心 高兴 完美 靠谱 好用 解决了 感激"),
             en=("appreciate", "appreciated", "great", "good", "excellent", "helpful", "love", "perfect", "happy",
                 "pleased", "satisfied", "awesome", "amazing", "wonderful", "fantastic", "nice",
                 "brilliant", "resolved", "well done", "glad", "grateful")),
    _Lexicon("negative", -1.0,
             zh=_zh("差 不好 不满 不满意 失望 生气 难过 糟糕 烂 慢 敷衍 无语 离谱 郁闷 烦 不爽 坑 差劲 不负责 不靠谱",
                    "推卸 踢皮球 没人管 没人理 受够 后悔 可恶 不合理 不公平 气人 投诉无门 没解决 没有解决"),
             en=("bad", "poor", "slow", "disappointed", "disappointing", "unhappy", "annoyed", "annoying",
                 "frustrated", "frustrating", "upset", "fed up", "rubbish", "waste", "shocking", "sick of",
                 "tired of", "dissatisfied", "unprofessional", "rude", "ignored")),
    _Lexicon("negative", -2.0,
             zh=_zh("差评 愤怒 气死 恶心 最差 无法接受 忍无可忍 欺骗 太过分"),
             en=("angry", "furious", "terrible", "awful", "horrible", "worst", "useless", "ridiculous",
                 "unacceptable", "disgusting", "pathetic", "hate", "nightmare", "incompetent", "appalling",
                 "outraged")),
    _Lexicon("negative", -2.0, zh=_ABUSE.zh + _DESPAIR.zh, en=_ABUSE.en + _DESPAIR.en,
             patterns=_DESPAIR.patterns, en_patterns=_ABUSE.en_patterns),
))


# ------------------------------------------------------------------------------------------------ judging

_SUBJECT_WEIGHT = 2.0
_QUESTION_CAP = 1.0
_STRONG = 3.0
_SERIOUSNESS = ("emergency", "fault", "complaint", "service-request", "consultation")  # ties go to the first
_CATEGORY_PRIORITY = {"emergency": "urgent", "fault": "high", "complaint": "high", "service-request": "normal",
                      "consultation": "normal"}
_REASONS_PER_CODE = 3
_CATEGORY_OF = {_QUESTION: "consultation", _SUGGESTION: "complaint"}  # the labels that are not category slugs


def triage(subject: str, body: str, *, recent_contacts: int = 0, tier: str = "standard") -> Triage:
    """Judge a customer's new message; ``recent_contacts`` is their other tickets of the last 7 days."""
    if tier not in TIERS:
        raise ValueError(f"unknown customer tier {tier!r}")
    if recent_contacts < 0:
        raise ValueError("recent_contacts cannot be negative")
    text = _Text(f"{subject}\n{body[:MAX_BODY_CHARS]}")
    category, urgency, suggestion_only = _category(text, text.folded_position(len(subject)))
    sentiment, score = _sentiment(text)
    risk = _risk(text, sentiment, recent_contacts)
    priority = _priority(category, sentiment, risk, urgency, suggestion_only=suggestion_only, tier=tier)
    return Triage(category, priority, sentiment, score, risk)


def _category(text: _Text, subject_end: int) -> tuple[Finding, list[Reason], bool]:
    """The category, the urgency words, and whether the only complaint evidence was a suggestion."""
    scores = dict.fromkeys(CATEGORIES, 0.0)
    evidence: dict[str, list[tuple[float, int, int]]] = {category: [] for category in CATEGORIES}
    asked = {True: 0.0, False: 0.0}  # question weight so far, in the subject and in the body
    urgency: list[Reason] = []
    suggestion_only, strong_emergency = True, False
    for hit in _CATEGORY.hits(text):
        in_subject = hit.start < subject_end
        weight = hit.weight
        if hit.label == _QUESTION:
            # A question does not need the refusal check: nobody writes "I don't want to ask how".
            weight = min(weight, _QUESTION_CAP - asked[in_subject])
            asked[in_subject] += weight
            if weight <= 0:
                continue
        elif hit.label == _URGENCY:
            if _SENTIMENT_NEGATION.find(text, hit.start) is None:
                urgency.append(Reason("urgency_words", text.words(hit.start, hit.end)))
            continue
        elif _REFUSAL.find(text, hit.start) is not None:
            continue
        category = _CATEGORY_OF.get(hit.label, hit.label)
        points = weight * (_SUBJECT_WEIGHT if in_subject else 1.0)
        scores[category] += points
        evidence[category].append((points, hit.start, hit.end))
        suggestion_only &= category != "complaint" or hit.label == _SUGGESTION
        strong_emergency |= category == "emergency" and hit.weight >= _STRONG
    best = "emergency" if strong_emergency else max(_SERIOUSNESS, key=lambda category: scores[category])
    if scores[best] == 0:
        return Finding("consultation", 0.3, (Reason("no_signal", ""),)), urgency, False
    second = max(score for category, score in scores.items() if category != best)
    confidence = max(0.1, 0.5 + 0.5 * (scores[best] - second) / (scores[best] + 1))
    code = {"emergency": "emergency_keywords", "consultation": "question_words"}.get(best, "category_keywords")
    ranked = sorted(evidence[best], key=lambda item: -item[0])
    reasons = tuple(Reason(code, said) for said in _distinct(text.words(start, end) for _, start, end in ranked))
    return Finding(best, round(confidence, 2), reasons), urgency, best == "complaint" and suggestion_only


def _sentiment(text: _Text) -> tuple[Finding, float]:
    raw = 0.0
    words: list[tuple[float, int, int]] = []
    for hit in _SENTIMENT.hits(text):
        value, start = hit.weight, hit.start
        if (negation := _SENTIMENT_NEGATION.find(text, hit.start)) is not None:
            value, start = -value if value > 0 else -0.5 * value, negation
        elif (intensifier := _INTENSIFIER.find(text, hit.start)) is not None:
            value, start = 1.5 * value, intensifier
        raw += value
        words.append((value, start, hit.end))
    emphasis = 0
    marks: list[Reason] = []
    for run in _PUNCTUATION_RUN.finditer(text.folded):
        raw -= 0.5 if "?" in run.group() else 0.0
        emphasis += "!" in run.group()
        marks.append(Reason("emphatic_punctuation", text.words(run.start(), run.end())))
    for shouted in _SHOUTED.finditer(text.original) if text.latin else ():
        emphasis += 1
        marks.append(Reason("all_caps", shouted.group()))
    raw *= 1 + 0.25 * min(emphasis, 4)
    score = round(raw / sqrt(raw * raw + 4), 2)
    label = "negative" if score <= -0.3 else "positive" if score >= 0.3 else "neutral"
    ranked = sorted(words, key=lambda item: -abs(item[0]))
    negative = [Reason("negative_words", said)
                for said in _distinct(text.words(start, end) for value, start, end in ranked if value < 0)]
    positive = [Reason("positive_words", said)
                for said in _distinct(text.words(start, end) for value, start, end in ranked if value > 0)]
    marks = _distinct_reasons(marks)
    if label == "negative":
        reasons, confidence = (*negative, *marks), 0.5 + abs(score) / 2
    elif label == "positive":
        reasons, confidence = (*positive, *marks), 0.5 + abs(score) / 2
    elif words or marks:
        reasons, confidence = (*negative, *positive, *marks), 0.5 + (0.3 - abs(score))
    else:
        reasons, confidence = (Reason("no_signal", ""),), 0.6
    return Finding(label, round(confidence, 2), reasons or (Reason("no_signal", ""),)), score


_RISK_POINTS = {"abusive_language": 2, "desperate_language": 2, "repeated_issue": 1}


_RISK_ORDER = (*_THREATS, "abusive_language", "desperate_language", "repeated_issue", "repeat_contact",
               "negative_sentiment")


def _risk(text: _Text, sentiment: Finding, recent_contacts: int) -> Finding:
    said: dict[str, list[str]] = {}  # code → the customer's words, a few of each
    for hit in _RISK.hits(text):
        words = said.get(hit.label, [])
        if len(words) == _REASONS_PER_CODE:
            continue  # the code counts once; enough evidence for it already
        if hit.label in _THREATS and _THREAT_NEGATION.find(text, hit.start) is not None:
            continue
        if (quoted := text.words(hit.start, hit.end)) not in words:
            said[hit.label] = [*words, quoted]
    points = sum(_RISK_POINTS.get(code, 0) for code in said)
    if recent_contacts >= 2:
        said["repeat_contact"] = [""]
        points += 2 if recent_contacts >= 3 else 1
    if sentiment.value == "negative":
        said["negative_sentiment"] = [""]
        points += 1
    reasons = tuple(Reason(code, words) for code in _RISK_ORDER for words in said.get(code, ()))
    if said.keys() & set(_THREATS):
        return Finding("high", round(min(0.95, 0.8 + 0.05 * (len(said) - 1)), 2), reasons)
    if points == 0:
        return Finding("none", 0.7, (Reason("no_signal", ""),))
    level = "high" if points >= 5 else "medium" if points >= 3 else "low"
    return Finding(level, round(min(0.9, 0.5 + 0.1 * points), 2), reasons)


def _priority(category: Finding, sentiment: Finding, risk: Finding, urgency: list[Reason], *,
              suggestion_only: bool, tier: str) -> Finding:
    level = _CATEGORY_PRIORITY[category.value]
    confidence = max(0.5, category.confidence)
    reasons = [Reason("category_priority", "")]
    calm = not urgency and risk.value == "none"
    if calm and category.reasons[0].code == "no_signal" and sentiment.value == "positive":
        level, confidence, reasons = "low", 0.6, [Reason("thanks_only", sentiment.reasons[0].evidence)]
    elif calm and suggestion_only and sentiment.value != "negative":
        level, confidence, reasons = "low", 0.6, [Reason("suggestion_only", category.reasons[0].evidence)]
    if urgency and _rank(level) < _rank("high"):
        level, confidence = "high", 0.7
        reasons.extend(_distinct_reasons(urgency))
    if risk.value == "high" and _rank(level) < _rank("high"):
        level, confidence = "high", risk.confidence
        reasons.append(Reason("high_risk", ""))
    if tier != "standard" and level != "urgent":
        level = PRIORITIES[_rank(level) + 1]
        reasons.append(Reason("vip_customer", ""))
    return Finding(level, round(confidence, 2), tuple(reasons))


def _rank(priority: str) -> int:
    return PRIORITIES.index(priority)


def _distinct(said: Iterable[str]) -> list[str]:
    """The first few different pieces of evidence; the rest are not even sliced out of the text."""
    kept: list[str] = []
    for words in said:
        if words not in kept:
            kept.append(words)
            if len(kept) == _REASONS_PER_CODE:
                break
    return kept


def _distinct_reasons(reasons: Iterable[Reason]) -> list[Reason]:
    """Each piece of evidence once, and at most a few per code: an agent reads them, not a log."""
    kept: list[Reason] = []
    per_code: dict[str, int] = {}
    for reason in dict.fromkeys(reasons):
        if per_code.get(reason.code, 0) < _REASONS_PER_CODE:
            per_code[reason.code] = per_code.get(reason.code, 0) + 1
            kept.append(reason)
    return kept
