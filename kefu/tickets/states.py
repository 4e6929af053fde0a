"""The ticket status machine (pure logic, no Django).

new → open (accepted, owner set) → waiting on customer / waiting on internal → resolved (awaiting the
customer's confirmation) → closed. An objection to a resolution reopens the ticket; duplicates are
merged; a ticket that needs no work is cancelled. Every other move is refused.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING_CUSTOMER = "waiting_customer"
    WAITING_INTERNAL = "waiting_internal"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    MERGED = "merged"


class Action(enum.StrEnum):
    ACCEPT = "accept"
    WAIT_CUSTOMER = "wait_customer"
    WAIT_INTERNAL = "wait_internal"
    RESUME = "resume"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    OBJECT = "object"
    REOPEN = "reopen"
    CANCEL = "cancel"
    MERGE = "merge"


WORKING = frozenset({Status.OPEN, Status.WAITING_CUSTOMER, Status.WAITING_INTERNAL})
ACTIVE = WORKING | {Status.NEW}
TERMINAL = frozenset({Status.CLOSED, Status.CANCELLED, Status.MERGED})

TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.ACCEPT: (frozenset({Status.NEW}), Status.OPEN),
    Action.WAIT_CUSTOMER: (frozenset({Status.OPEN, Status.WAITING_INTERNAL}), Status.WAITING_CUSTOMER),
    Action.WAIT_INTERNAL: (frozenset({Status.OPEN, Status.WAITING_CUSTOMER}), Status.WAITING_INTERNAL),
    Action.RESUME: (frozenset({Status.WAITING_CUSTOMER, Status.WAITING_INTERNAL}), Status.OPEN),
    Action.RESOLVE: (WORKING, Status.RESOLVED),
    Action.CONFIRM: (frozenset({Status.RESOLVED}), Status.CLOSED),
    Action.OBJECT: (frozenset({Status.RESOLVED}), Status.OPEN),
    Action.REOPEN: (frozenset({Status.CLOSED}), Status.OPEN),
    Action.CANCEL: (ACTIVE, Status.CANCELLED),
    Action.MERGE: (ACTIVE, Status.MERGED),
}

CUSTOMER_ACTIONS = frozenset({Action.CONFIRM, Action.OBJECT})
"""What a customer may do to their own ticket; every other action is the staff's."""


@dataclass(frozen=True)
class IllegalTransition(Exception):
    status: Status
    action: Action

    def __str__(self) -> str:
        return f"cannot {self.action} a ticket that is {self.status}"


def allowed_actions(status: Status) -> list[Action]:
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def next_status(status: Status, action: Action) -> Status:
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise IllegalTransition(status, action)
    return target
