"""Routing rules: the first rule whose conditions all hold sends a ticket to its queue with its required
skills. Pure: no Django. An empty condition matches anything; keywords match when any of them occurs in
the subject or description (case-insensitive), tags when the ticket has any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Key = TypeVar("Key")


@dataclass(frozen=True)
class RoutingFacts:
    category: str = ""  # slug
    priority: str = ""
    channel: str = ""
    language: str = ""
    tier: str = ""
    tags: frozenset[str] = frozenset()
    text: str = ""  # subject and description


@dataclass(frozen=True)
class RuleConditions:
    categories: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    """One condition of a rule against one ticket, for the "test this rule" preview."""

    condition: str
    wanted: tuple[str, ...]
    actual: str
    ok: bool


@dataclass(frozen=True)
class Rule(Generic[Key]):
    key: Key
    conditions: RuleConditions = field(default_factory=RuleConditions)


def _language(code: str) -> str:
    return code.lower().split("-")[0].split("_")[0]


def explain(conditions: RuleConditions, facts: RoutingFacts) -> list[Check]:
    """Every condition the rule sets, with what the ticket has and whether it holds."""
    text = facts.text.casefold()
    checks = [
        ("categories", conditions.categories, facts.category, facts.category in conditions.categories),
        ("priorities", conditions.priorities, facts.priority, facts.priority in conditions.priorities),
        ("channels", conditions.channels, facts.channel, facts.channel in conditions.channels),
        ("languages", conditions.languages, facts.language,
         _language(facts.language) in {_language(code) for code in conditions.languages}),
        ("tiers", conditions.tiers, facts.tier, facts.tier in conditions.tiers),
        ("tags", conditions.tags, ", ".join(sorted(facts.tags)), bool(conditions.tags & facts.tags)),
        ("keywords", frozenset(conditions.keywords), "",
         any(word.casefold() in text for word in conditions.keywords if word.strip())),
    ]
    return [Check(name, tuple(sorted(wanted)), actual, ok) for name, wanted, actual, ok in checks if wanted]


def matches(conditions: RuleConditions, facts: RoutingFacts) -> bool:
    return all(check.ok for check in explain(conditions, facts))


def first_match(rules: Sequence[Rule[Key]], facts: RoutingFacts) -> Rule[Key] | None:
    return next((rule for rule in rules if matches(rule.conditions, facts)), None)
