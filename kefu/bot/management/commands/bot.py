"""`kefu bot train [--data FILE.csv [--text-column text] [--label-column label] [--oos-label LABEL]]`: train
the chatbot from the knowledge base's public articles (titles, example questions, text), or from a
labelled CSV, and triage's category model from past tickets' categories, and save them where the serving
processes load them from.

`kefu bot evaluate --train TRAIN.csv --test TEST.csv [--text-column text] [--label-column label]
[--oos-label LABEL] [--encoder minilm]`: train the intent model on one CSV, score the other, and print one
JSON object as the last line (accuracy, macro_f1, n_train, n_test, train_seconds, latency_ms_p50/p95 one
query at a time; with --oos-label also in_scope_accuracy, oos_recall, oos_precision)."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kefu.bot import brain
from kefu.bot.encoders import ENCODERS, EncoderUnavailable, load_encoder
from kefu.bot.intents import IntentModel, evaluate


def read_examples(path: Path, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    """(texts, labels) from a CSV with a header row; rows with an empty text or label are skipped."""
    if not path.exists():
        raise CommandError(f"not found: {path}")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        missing = [c for c in (text_column, label_column) if c not in columns]
        if missing:
            raise CommandError(f"{path}: no column {', '.join(missing)} (the header has: {', '.join(columns)})")
        rows = [(row[text_column].strip(), row[label_column].strip()) for row in reader
                if (row.get(text_column) or "").strip() and (row.get(label_column) or "").strip()]
    if not rows:
        raise CommandError(f"{path}: no rows with both a text and a label")
    return [text for text, _ in rows], [label for _, label in rows]


class Command(BaseCommand):
    help = "The chatbot's intent model: train it for the product, or evaluate it on labelled CSV files."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        train_ = sub.add_parser("train", help="train the chatbot (knowledge base, or --data CSV) and save it")
        train_.add_argument("--data", type=Path, default=None, help="a labelled CSV instead of the knowledge base")
        train_.add_argument("--text-column", default="text")
        train_.add_argument("--label-column", default="label")
        train_.add_argument("--oos-label", default=None, help="the CSV's label for out-of-scope examples")
        evaluate_ = sub.add_parser("evaluate", help="train on one CSV, score another, print JSON")
        evaluate_.add_argument("--train", type=Path, required=True)
        evaluate_.add_argument("--test", type=Path, required=True)
        evaluate_.add_argument("--text-column", default="text")
        evaluate_.add_argument("--label-column", default="label")
        evaluate_.add_argument("--oos-label", default=None,
                               help="the label of out-of-scope examples (trained on, and refused when predicted)")
        evaluate_.add_argument("--encoder", choices=ENCODERS, default=None,
                               help="add a sentence encoder's vectors to the n-grams (when installed)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "train":
            return self._train(options)
        try:
            encoder = load_encoder(options["encoder"]) if options["encoder"] else None
        except EncoderUnavailable as exc:
            raise CommandError(str(exc)) from None
        train_texts, train_labels = read_examples(options["train"], options["text_column"], options["label_column"])
        test_texts, test_labels = read_examples(options["test"], options["text_column"], options["label_column"])
        oos = options["oos_label"]
        self.stderr.write(f"training on {len(train_texts)} examples, {len(set(train_labels))} labels…")
        started = time.perf_counter()
        try:
            model = IntentModel.train(train_texts, train_labels, oos_label=oos, encoder=encoder)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        train_seconds = time.perf_counter() - started
        self.stderr.write(f"trained in {train_seconds:.1f} s; scoring {len(test_texts)} examples one at a time…")
        result = {"n_train": len(train_texts), "train_seconds": round(train_seconds, 2),
                  "encoder": options["encoder"] or "none",
                  **evaluate(model, test_texts, test_labels, oos_label=oos)}
        self.stdout.write(json.dumps(result, ensure_ascii=False))

    def _train(self, options: dict[str, Any]) -> None:
        started = time.perf_counter()
        texts = labels = None
        if options["data"] is not None:
            texts, labels = read_examples(options["data"], options["text_column"], options["label_column"])
            labels = [brain.OOS_LABEL if label == options["oos_label"] else label for label in labels]
        try:
            trained = brain.train(texts, labels)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        path = brain.save(trained)
        intents = len([label for label in trained.model.labels if label != brain.OOS_LABEL])
        # Triage's second opinion on categories, from past tickets (nothing while there are too few).
        categories = brain.train_categories()
        if categories is not None:
            brain.save(categories, brain.category_model_path())
        self.stdout.write(json.dumps({"saved": str(path), "intents": intents, "n_train": trained.n_examples,
                                      "source": str(options["data"] or "knowledge base"),
                                      "categories_from_tickets": categories.n_tickets if categories else 0,
                                      "train_seconds": round(time.perf_counter() - started, 2)}))
