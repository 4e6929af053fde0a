"""The trained intent model as the product uses it: trained from the knowledge base (or a CSV) by
``kefu bot train`` or the worker, saved to a file, and loaded by the serving processes.

Training and serving are separate processes on purpose: training takes seconds of CPU that a web process
must not spend while customers wait. The worker retrains when the knowledge base's revision moves
(``kefu.bot.tasks``); every serving process reloads the file when it changes.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from kefu.bot.examples import article_examples
from kefu.knowledge import selectors as knowledge

if TYPE_CHECKING:
    # scikit-learn takes about a second to import: every process that opens tickets imports this module,
    # and only training needs it (unpickling a model imports it then).
    from kefu.bot.intents import IntentModel

OOS_LABEL = "__out_of_scope__"
OUT_OF_SCOPE_FILE = Path(__file__).with_name("out_of_scope.json")


@dataclass
class Brain:
    model: IntentModel
    revision: str  # the knowledge base's revision it was trained on ("" for a CSV)
    trained_at: float
    n_examples: int
    titles: dict[str, dict[str, str]] = field(default_factory=dict)  # key → locale → title


def model_path() -> Path:
    return Path(settings.KEFU.get("BOT_MODEL_PATH") or settings.DATA_DIR / "bot" / "intents.pickle")


def knowledge_revision() -> str:
    return json.dumps(knowledge.revision(), default=str)


def out_of_scope_examples() -> list[str]:
    """Questions a shop's assistant should not answer (weather, jokes, other companies…), in both
    languages: they teach the model what "not ours" looks like."""
    data = json.loads(OUT_OF_SCOPE_FILE.read_text(encoding="utf-8"))
    return [text for texts in data.values() for text in texts]


def knowledge_examples() -> tuple[list[str], list[str], dict[str, dict[str, str]]]:
    """(texts, labels, titles) from the public published articles: titles, example questions, text sentences."""
    texts, labels = [], []
    titles: dict[str, dict[str, str]] = {}
    for entry in knowledge.catalog().entries.values():
        if not entry.public:
            continue
        titles.setdefault(entry.key, {})[entry.locale] = entry.title
        for text in article_examples(entry.title, entry.questions, entry.text):
            texts.append(text)
            labels.append(entry.key)
    return texts, labels, titles


def train(texts: list[str] | None = None, labels: list[str] | None = None) -> Brain:
    """A model from the given examples (a CSV's: the worker leaves it alone), or from the knowledge base."""
    titles: dict[str, dict[str, str]] = {}
    revision = ""
    if texts is None or labels is None:
        revision = knowledge_revision()
        texts, labels, titles = knowledge_examples()
    if len(set(labels)) < 2:
        raise ValueError("the chatbot needs at least two published public articles (or labels) to learn from")
    from kefu.bot.intents import IntentModel

    outside = out_of_scope_examples()
    model = IntentModel.train(texts + outside, labels + [OOS_LABEL] * len(outside), oos_label=OOS_LABEL)
    return Brain(model, revision, time.time(), len(texts), titles)


def save(brain: Any, path: Path | None = None) -> Path:
    """Written to a temporary file and renamed, so a serving process never reads half a model."""
    path = path or model_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as handle:
        pickle.dump(brain, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(handle.name, path)
    return path


_lock = threading.Lock()
_loaded: dict[Path, tuple[float, Any]] = {}


def _load(path: Path) -> Any:
    """The object saved at the path, reloaded when the file changes; None when there is none yet."""
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        return None
    cached = _loaded.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with _lock:
        cached = _loaded.get(path)
        if cached is None or cached[0] != stamp:
            with path.open("rb") as handle:
                cached = (stamp, pickle.load(handle))  # noqa: S301 (see the import)
            _loaded[path] = cached
        return cached[1]


def current() -> Brain | None:
    """The saved model, reloaded when its file changes; None before the first training."""
    brain: Brain | None = _load(model_path())
    return brain


def retrain_if_stale() -> Brain | None:
    """Retrain when the knowledge base changed since the saved model, and the category model once a day
    (the worker calls it)."""
    global _category_attempt
    categories = current_categories()
    due = categories is None or categories.trained_at < time.time() - CATEGORY_RETRAIN_SECONDS
    if due and time.time() - _category_attempt >= CATEGORY_RETRY_SECONDS:
        _category_attempt = time.time()
        learnt = train_categories()
        if learnt is not None:
            save(learnt, category_model_path())
    brain = current()
    if brain is not None and (brain.revision == "" or brain.revision == knowledge_revision()):
        return None  # up to date, or trained from a CSV on purpose
    try:
        fresh = train()
    except ValueError:
        return None  # not enough articles yet
    save(fresh)
    return fresh


# ---------------------------------------------------------------------------------------------- categories

CATEGORY_RETRAIN_SECONDS = 24 * 3600
CATEGORY_RETRY_SECONDS = 3600  # while there are not enough categorised tickets to learn from
_category_attempt = 0.0
CATEGORY_MIN_PER_LABEL = 5
CATEGORY_MAX_TICKETS = 20_000


@dataclass
class CategoryModel:
    """Past tickets' categories, learnt from what they said: triage's second opinion when its keyword rules
    are not sure."""

    model: IntentModel
    trained_at: float
    n_tickets: int


def category_model_path() -> Path:
    return model_path().with_name("categories.pickle")


def train_categories() -> CategoryModel | None:
    """From the newest resolved and closed tickets with a category (agents have looked at them); None
    while there are fewer than two categories with enough tickets each."""
    from kefu.tickets.models import Ticket
    from kefu.tickets.states import Status

    rows = list(Ticket.objects.filter(category__isnull=False, status__in=[Status.RESOLVED, Status.CLOSED])
                .order_by("-id").values_list("subject", "description", "category__slug")[:CATEGORY_MAX_TICKETS])
    counts: dict[str, int] = {}
    for _subject, _description, slug in rows:
        counts[slug] = counts.get(slug, 0) + 1
    usable = {slug for slug, n in counts.items() if n >= CATEGORY_MIN_PER_LABEL}
    if len(usable) < 2:
        return None
    from kefu.bot.intents import IntentModel

    texts = [f"{subject}\n{description[:500]}" for subject, description, slug in rows if slug in usable]
    labels = [slug for _subject, _description, slug in rows if slug in usable]
    return CategoryModel(IntentModel.train(texts, labels), time.time(), len(texts))


def current_categories() -> CategoryModel | None:
    learnt: CategoryModel | None = _load(category_model_path())
    return learnt


def category_from_history(subject: str, description: str) -> str | None:
    """The category past tickets like this one had, when the model is confident enough to say."""
    learnt = current_categories()
    if learnt is None:
        return None
    return learnt.model.predict(f"{subject}\n{description[:500]}").label
