from hypothesis import given
from hypothesis import strategies as st

from kefu.core import textsearch


def test_chinese_is_indexed_as_overlapping_bigrams():
    assert textsearch.tokens("退款申请") == ["退款", "款申", "申请"]


def test_mixed_text_keeps_latin_words_and_numbers_lowercased():
    assert textsearch.tokens("订单SO-1001退款 Refund") == ["订单", "so", "1001", "退款", "refund"]


def test_full_width_characters_fold_to_ascii():
    assert textsearch.tokens("ＡＢＣ１２３") == ["abc123"]


def test_single_chinese_character_and_last_latin_word_are_prefix_terms():
    assert textsearch.query_terms("退") == [("退", True)]
    assert textsearch.query_terms("refund stat") == [("refund", False), ("stat", True)]


def test_fts5_and_tsquery_quote_every_term():
    assert textsearch.fts5_query("退款 ref") == '"退款" AND "ref"*'
    assert textsearch.tsquery("退款 ref") == "'退款' & 'ref':*"


def test_query_of_punctuation_only_has_no_terms():
    assert textsearch.query_terms("!!! ？？") == []


@given(st.text(alphabet="退款申请订单发货登录失败abcXYZ 0123", min_size=1, max_size=40), st.data())
def test_any_substring_of_two_or_more_cjk_chars_is_found(text, data):
    doc = set(textsearch.document(text).split())
    runs = [m.group() for m in textsearch._CJK_RUN.finditer(text)]
    for run in runs:
        if len(run) < 2:
            continue
        start = data.draw(st.integers(0, len(run) - 2))
        end = data.draw(st.integers(start + 2, len(run)))
        terms = textsearch.query_terms(run[start:end])
        assert all(tok in doc for tok, prefix in terms if not prefix)
