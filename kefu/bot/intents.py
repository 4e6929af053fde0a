"""Intent recognition with out-of-scope detection, in Chinese and English. Pure: scikit-learn, no Django.

Features: TF-IDF over character n-grams (1–5, within word boundaries, on NFKC-folded lower-case text:
Chinese needs no segmentation, its characters and their neighbours are the n-grams; typos cost few of
them) plus TF-IDF over the search tokens (Latin words and CJK bigrams, ``kefu.core.textsearch``) and
their adjacent pairs, and, when one is given, a sentence encoder's vectors (``kefu.bot.encoders``), each
scaled to length ``ENCODER_WEIGHT`` beside the two TF-IDF blocks of length 1. A linear SVM scores every
intent; the best score wins.

Out of scope: a question is refused (``Prediction.label is None``) when the best intent's refusal score is
under a threshold, or when the best "intent" is the out-of-scope examples' own label. The refusal score is
the SVM's score, plus, with an encoder, ``NEIGHBOUR_WEIGHT`` times the cosine similarity of the question's
vector to the nearest training example of that intent (a question far from every example of the intent it
is put in is more likely out of scope than its score alone says). The threshold is chosen on scores the
model gives to training examples it has not seen (3-fold cross-validation; the similarity to the nearest
of all the other examples, as a question will have once the model is trained): with out-of-scope examples,
the lowest that refuses 75 % of them (so that as many in-scope questions as possible are still answered);
without them, the one that refuses the lowest 5 % of in-scope examples.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from kefu.core import textsearch

FOLDS = 3
REFUSE_SHARE_WITHOUT_OOS = 0.05
OOS_RECALL_WANTED = 0.75  # of out-of-scope questions refused, on unseen training examples
# With an encoder (chosen on CLINC150's validation split, bench/results/clinc150-2026-12-03):
ENCODER_WEIGHT = 2.0  # the length of the encoder's vectors beside the TF-IDF blocks' 1
NEIGHBOUR_WEIGHT = 2.0  # of the similarity to the intent's nearest example in the refusal score
SVM_C, SVM_C_WITH_ENCODER = 1.0, 0.5


def _tokens_and_pairs(text: str) -> list[str]:
    tokens = textsearch.tokens(text)
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def _features() -> FeatureUnion:
    return FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5), sublinear_tf=True,
                                  preprocessor=textsearch.normalize, dtype=np.float32)),
        ("words", TfidfVectorizer(analyzer=_tokens_and_pairs, sublinear_tf=True, dtype=np.float32)),
    ])


@dataclass(frozen=True)
class Prediction:
    label: str | None  # None: out of scope
    score: float
    best: str  # the most likely intent, even when refused
    runner_up: str | None
    runner_up_score: float | None


Encoder = Callable[[Sequence[str]], "np.ndarray[Any, Any]"]
"""Texts → one dense vector each (a sentence-embedding model, kefu.bot.encoders); its vectors join the n-grams."""


class _Vectorizer:
    """The n-gram features, and an encoder's vectors (of length 1) beside them when there is one."""

    def __init__(self, encoder: Encoder | None) -> None:
        self.ngrams, self.encoder = _features(), encoder

    def fit_transform(self, texts: Sequence[str], dense: np.ndarray[Any, Any] | None) -> Any:
        return _join(self.ngrams.fit_transform(texts), dense)

    def transform(self, texts: Sequence[str], dense: np.ndarray[Any, Any] | None = None
                  ) -> tuple[Any, np.ndarray[Any, Any] | None]:
        if dense is None and self.encoder is not None:
            dense = _unit(self.encoder(texts))
        return _join(self.ngrams.transform(texts), dense), dense


def _unit(vectors: Any) -> np.ndarray[Any, Any]:
    dense = np.asarray(vectors, dtype=np.float32)
    return np.asarray(dense / np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), np.float32(1e-12)))


def _join(ngrams: Any, dense: np.ndarray[Any, Any] | None) -> Any:
    return ngrams if dense is None else hstack([ngrams, csr_matrix(dense * np.float32(ENCODER_WEIGHT))]).tocsr()


def _svm(dense: np.ndarray[Any, Any] | None) -> LinearSVC:
    return LinearSVC(C=SVM_C if dense is None else SVM_C_WITH_ENCODER)


class _Neighbours:
    """The training examples' encoder vectors, by label: how near a question is to an intent's nearest example."""

    def __init__(self, dense: np.ndarray[Any, Any], labels: Any) -> None:
        y = np.asarray(labels)
        self._dense = dense
        self._rows = {str(label): np.flatnonzero(y == label) for label in np.unique(y)}

    def similarity(self, vectors: np.ndarray[Any, Any], labels: Any, exclude: Any = None) -> np.ndarray[Any, Any]:
        """Each vector's cosine similarity to the nearest example of its label; ``exclude``: one training
        example's row per vector, left out (the vector is that example's own)."""
        similarities = np.zeros(len(vectors))
        for i, (vector, label) in enumerate(zip(vectors, labels, strict=True)):
            rows = self._rows.get(str(label), np.zeros(0, dtype=np.intp))
            if exclude is not None:
                rows = rows[rows != exclude[i]]
            if len(rows):
                similarities[i] = float((self._dense[rows] @ vector).max())
        return similarities


def _refusal_scores(scores: np.ndarray[Any, Any], label_indices: Any, classes: Any, dense: np.ndarray[Any, Any] | None,
                    neighbours: _Neighbours | None, exclude: Any = None) -> np.ndarray[Any, Any]:
    """The score of one intent per row (label_indices), plus the nearest-example similarity with an encoder."""
    chosen = np.asarray(scores[np.arange(len(scores)), label_indices], dtype=np.float64)
    if dense is None or neighbours is None:
        return chosen
    return chosen + NEIGHBOUR_WEIGHT * neighbours.similarity(dense, np.asarray(classes)[label_indices], exclude)


class IntentModel:
    def __init__(self, vectorizer: _Vectorizer, classifier: LinearSVC, threshold: float, oos_label: str | None,
                 neighbours: _Neighbours | None = None):
        self._vectorizer, self._classifier, self._neighbours = vectorizer, classifier, neighbours
        self.threshold, self.oos_label = threshold, oos_label
        self.labels: list[str] = [str(c) for c in classifier.classes_]

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], *, oos_label: str | None = None,
              encoder: Encoder | None = None) -> IntentModel:
        if len(texts) != len(labels) or not texts:
            raise ValueError("training needs as many labels as texts, and at least one of each")
        if len(set(labels)) < 2:
            raise ValueError("training needs at least two different labels")
        # Encoded once: the cross-validation below reuses the vectors.
        dense = _unit(encoder(texts)) if encoder is not None else None
        threshold = _choose_threshold(texts, labels, oos_label, dense)
        vectorizer = _Vectorizer(encoder)
        classifier = _svm(dense).fit(vectorizer.fit_transform(texts, dense), labels)
        neighbours = _Neighbours(dense, labels) if dense is not None else None
        return cls(vectorizer, classifier, threshold, oos_label, neighbours)

    def scores(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        """The SVM's score of every intent (columns in ``labels``' order), one row per text."""
        return _two_columns(self._classifier.decision_function(self._vectorizer.transform(texts)[0]))

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        """Each text's best intent and runner-up, with their refusal scores (the SVM's, and the nearest-example
        similarity with an encoder); label None when refused."""
        features, dense = self._vectorizer.transform(texts)
        scores = _two_columns(self._classifier.decision_function(features))
        order = np.argsort(-scores, axis=1, kind="stable")
        classes, near = self.labels, self._neighbours
        best = _refusal_scores(scores, order[:, 0], classes, dense, near)
        runner = _refusal_scores(scores, order[:, 1], classes, dense, near) if scores.shape[1] > 1 else None
        predictions = []
        for i, row in enumerate(order):
            label, score = self.labels[row[0]], float(best[i])
            refused = score < self.threshold or label == self.oos_label
            predictions.append(Prediction(None if refused else label, score, label,
                                          self.labels[row[1]] if runner is not None else None,
                                          float(runner[i]) if runner is not None else None))
        return predictions


def _two_columns(scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    # With two labels scikit-learn returns one column (the second label's score); make it one per label.
    return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores


def _choose_threshold(texts: Sequence[str], labels: Sequence[str], oos_label: str | None,
                      dense: np.ndarray[Any, Any] | None) -> float:
    counts = Counter(labels)
    if min(counts.values()) < FOLDS:
        return float("-inf")  # too few examples per intent to test on unseen ones: refuse only the oos label
    y = np.asarray(labels)
    top = np.empty(len(y))
    best = np.empty(len(y), dtype=object)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    # The nearest example among all the others (as a question meets all the examples once trained), not only
    # the fold's: a fold's two thirds are farther, and a threshold chosen on them would refuse too little.
    neighbours = _Neighbours(dense, y) if dense is not None else None
    for train_idx, test_idx in folds.split(np.zeros(len(y)), y):
        vectorizer = _Vectorizer(None)
        seen, unseen_dense = (None, None) if dense is None else (dense[train_idx], dense[test_idx])
        classifier = _svm(dense).fit(vectorizer.fit_transform([texts[i] for i in train_idx], seen), y[train_idx])
        unseen = vectorizer.transform([texts[i] for i in test_idx], unseen_dense)[0]
        scores = _two_columns(classifier.decision_function(unseen))
        best_idx = scores.argmax(axis=1)
        top[test_idx] = _refusal_scores(scores, best_idx, classifier.classes_, unseen_dense, neighbours, test_idx)
        best[test_idx] = classifier.classes_[best_idx]
    in_scope = y != oos_label
    if oos_label is None or in_scope.all():
        return float(np.quantile(top[in_scope & (best == y)], REFUSE_SHARE_WITHOUT_OOS)) if (best == y).any() \
            else float("-inf")
    # Refusing more out-of-scope questions costs in-scope answers: the lowest threshold that refuses the
    # wanted share keeps the most of them.
    for threshold in np.unique(np.quantile(top, np.linspace(0, 1, 401))):
        refused = (top < threshold) | (best == oos_label)
        if refused[~in_scope].mean() >= OOS_RECALL_WANTED:
            return float(threshold)
    return float("inf")


# ---------------------------------------------------------------------------------------------- evaluation


def evaluate(model: IntentModel, texts: Sequence[str], labels: Sequence[str], *,
             oos_label: str | None = None) -> dict[str, Any]:
    """Scores on a test set, one query at a time (the serving configuration) for the latencies."""
    latencies, predicted = [], []
    for text in texts:
        started = time.perf_counter()
        prediction = model.predict(text)
        latencies.append((time.perf_counter() - started) * 1000)
        predicted.append(prediction.label if prediction.label is not None else (oos_label or "<out of scope>"))
    y, p = np.asarray(labels, dtype=object), np.asarray(predicted, dtype=object)
    result: dict[str, Any] = {
        "accuracy": round(float((y == p).mean()), 4),
        "macro_f1": round(float(f1_score(y, p, average="macro", labels=sorted(set(labels)), zero_division=0)), 4),
        "n_test": len(labels),
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 3),
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 3),
    }
    if oos_label is not None:
        in_scope = y != oos_label
        refused = p == oos_label
        result["in_scope_accuracy"] = round(float((y == p)[in_scope].mean()), 4) if in_scope.any() else None
        result["oos_recall"] = round(float(refused[~in_scope].mean()), 4) if (~in_scope).any() else None
        result["oos_precision"] = round(float((~in_scope)[refused].mean()), 4) if refused.any() else None
    return result
