"""Benchmark: the chatbot's intent model on the demo knowledge base, in Chinese and in English.

    PYTHONPATH=. .venv/bin/python bench/kb_eval.py [--kb kefu/knowledge/demo_kb.json] \\
        [--data bench/data] [--out bench/results/kb-eval-<date>]

It trains ``kefu.bot.intents.IntentModel`` as the product does (``kefu.bot.brain``): one model for both
languages, on the knowledge base's public articles (title, example questions and the sentences of the
text, ``kefu.bot.examples``, labelled with the article's key) and the bundled out-of-scope examples
(``kefu/bot/out_of_scope.json``, label ``oos``). It then scores each language's held-out paraphrases
(``bench/data/kb_eval_zh.csv``, ``bench/data/kb_eval_en.csv``: ``text,label``) with
``kefu.bot.intents.evaluate``, one query at a time. Internal articles (agents only) are left out: the
chatbot never answers with them.

Prints one JSON line per language and writes ``results.json`` (the figures and every misclassified row)
and a ``README.md`` with the command into the output folder.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kefu.bot.examples import article_examples  # noqa: E402
from kefu.bot.intents import IntentModel, evaluate  # noqa: E402
from kefu.knowledge.retrieval import plain_text  # noqa: E402

OUT_OF_SCOPE = json.loads((ROOT / "kefu" / "bot" / "out_of_scope.json").read_text(encoding="utf-8"))


OOS = "oos"
LANGUAGES = {"zh": "zh-hans", "en": "en"}  # eval file suffix → knowledge-base locale


def training_set(kb: dict[str, Any]) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    for article in kb["articles"]:
        if article["visibility"] != "public":
            continue
        for text in article["translations"].values():
            for example in article_examples(text["title"], text["questions"], plain_text(text["body"])):
                texts.append(example)
                labels.append(article["key"])
    for examples in OUT_OF_SCOPE.values():
        texts += examples
        labels += [OOS] * len(examples)
    return texts, labels


def read_eval(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row["label"] for row in rows]


def check_labels(kb: dict[str, Any], labels: list[str], path: Path) -> None:
    public = {a["key"] for a in kb["articles"] if a["visibility"] == "public"}
    unknown = sorted(set(labels) - public - {OOS})
    if unknown:
        raise SystemExit(f"{path}: labels that are no public article: {', '.join(unknown)}")


def run_language(kb: dict[str, Any], suffix: str, data_dir: Path, model: IntentModel, training_s: float,
                 train_labels: list[str]) -> dict[str, Any]:
    path = data_dir / f"kb_eval_{suffix}.csv"
    texts, labels = read_eval(path)
    check_labels(kb, labels, path)
    figures = evaluate(model, texts, labels, oos_label=OOS)
    errors = []
    for text, label, prediction in zip(texts, labels, model.predict_many(texts), strict=True):
        predicted = prediction.label or OOS
        if predicted != label:
            errors.append({"text": text, "label": label, "predicted": predicted, "best": prediction.best,
                           "score": round(prediction.score, 3), "runner_up": prediction.runner_up})
    return {"language": suffix, **figures, "training_s": round(training_s, 2), "n_train": len(train_labels),
            "n_intents": len(set(train_labels)) - 1, "n_train_oos": train_labels.count(OOS),
            "n_test_oos": labels.count(OOS), "threshold": round(model.threshold, 4), "errors": errors}


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _table_row(r: dict[str, Any]) -> str:
    return (f"| {r['language']} | {r['n_intents']} | {r['n_train']} | {r['n_test']} ({r['n_test_oos']}) | "
            f"{_percent(r['in_scope_accuracy'])} | {_percent(r['oos_recall'])} | {_percent(r['oos_precision'])} | "
            f"{r['macro_f1']:.3f} | {r['latency_ms_p50']} | {r['latency_ms_p95']} |")


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "kefu" / "knowledge" / "demo_kb.json")
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / f"kb-eval-{_today():%Y-%m-%d}")
    args = parser.parse_args()
    kb = json.loads(args.kb.read_text(encoding="utf-8"))
    train_texts, train_labels = training_set(kb)
    started = time.perf_counter()
    model = IntentModel.train(train_texts, train_labels, oos_label=OOS)
    training_s = time.perf_counter() - started
    results = []
    for suffix in LANGUAGES:
        result = run_language(kb, suffix, args.data, model, training_s, train_labels)
        results.append(result)
        print(json.dumps({k: v for k, v in result.items() if k != "errors"}, ensure_ascii=False), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "PYTHONPATH=. .venv/bin/python bench/kb_eval.py"
    report = {"command": command, "date": _today().isoformat(), "python": platform.python_version(),
              "machine": platform.machine(), "processor": platform.processor() or platform.machine(),
              "knowledge_base": str(args.kb.relative_to(ROOT) if args.kb.is_relative_to(ROOT) else args.kb),
              "results": results}
    (args.out / "results.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Intent model on the demo knowledge base (zh-hans, en)", "",
        f"    {command}", "",
        "Training, as the product trains (one model, both languages): the public articles of "
        "`kefu/knowledge/demo_kb.json` (title, example questions and text sentences per article) and "
        "`kefu/bot/out_of_scope.json`; test: held-out paraphrases in `bench/data/kb_eval_zh.csv` "
        "and `bench/data/kb_eval_en.csv`. Scored one query at a time (`kefu.bot.intents.evaluate`); "
        "`results.json` lists every misclassified row.", "",
        "| language | intents | train | test (oos) | in-scope accuracy | oos recall | oos precision | "
        "macro F1 | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_table_row(r) for r in results]
    lines += ["", f"Python {report['python']} on {report['processor']}, one process, CPU only; the latencies "
              "vary from run to run on a shared machine, the scores do not (the model is deterministic)."]
    (args.out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
