"""The search index on its own: Chinese without spaces, English with typos, mixed text, highlights."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kefu.knowledge.retrieval import Document, SearchIndex, highlight, snippet

DOCS = [
    Document(1, "zh-hans", "退款多久到账", "退款审核通过后，原路退回，一般 3 到 7 个工作日到账。",
             ("我的退款什么时候到",)),
    Document(2, "zh-hans", "如何修改收货地址", "订单发货前可以在订单详情页修改收货地址。", ("地址填错了怎么办",)),
    Document(3, "en", "How long does a refund take", "Refunds reach the original payment method in 3-7 working days.",
             ("when will I get my money back",)),
    Document(4, "en", "Change the delivery address", "Before the order ships you can change the address.",
             ("I entered the wrong address",)),
    Document(5, "en", "Earbuds do not pair", "Reset the earbuds: hold the button for 10 seconds.", ()),
]
INDEX = SearchIndex(DOCS)


def keys(query: str, **kwargs: object) -> list[int]:
    return [hit.key for hit in INDEX.search(query, **kwargs)]  # type: ignore[arg-type]


def test_chinese_question_without_spaces_finds_the_article():
    assert keys("退款什么时候到账")[0] == 1
    assert keys("收货地址填错了")[0] == 2


def test_english_typos_still_find_the_article():
    assert keys("refnud")[0] == 3  # swapped letters
    assert keys("adress change")[0] == 4  # a missing letter
    assert keys("earbudds")[0] == 5  # a doubled letter


def test_the_word_being_typed_matches_as_a_prefix():
    assert keys("deliv")[0] == 4
    assert keys("退")[0] == 1  # a single Chinese character


def test_a_document_with_every_word_ranks_above_one_with_a_common_word():
    assert keys("refund working days")[0] == 3


def test_mixed_chinese_and_english_text():
    assert set(keys("我的refund")[:2]) == {1, 3}  # the Chinese article by "我的", the English one by "refund"


def test_allowed_and_locale_filters():
    assert keys("refund", allowed={3, 4}) == [3]
    assert keys("refund", allowed={1, 2}) == []
    assert set(keys("address", locales={"zh-hans"})) <= {1, 2}


def test_nothing_to_search_for_and_nothing_found():
    assert keys("") == []
    assert keys("   ！！ ") == []
    assert keys("quantum chromodynamics") == []


def test_highlights_mark_the_readers_own_characters():
    title = highlight("ＲＥＦＵＮＤ policy", frozenset({"refund"}))
    assert title == (("ＲＥＦＵＮＤ", True), (" policy", False))
    pieces = highlight("申请退款", frozenset({"退款"}))
    assert pieces == (("申请", False), ("退款", True))


def test_snippet_is_cut_around_the_first_match():
    text = "x " * 200 + "refund here " + "y " * 200
    pieces = snippet(text, frozenset({"refund"}))
    assert pieces[0] == ("…", False) and pieces[-1] == ("…", False)
    assert ("refund", True) in pieces
    assert sum(len(p) for p, _hit in pieces) <= 170


@given(st.text(max_size=80))
def test_search_never_fails_on_any_query(query):
    for hit in INDEX.search(query):
        assert hit.key in {1, 2, 3, 4, 5}
        assert "".join(piece for piece, _ in hit.title) == DOCS[hit.key - 1].title
