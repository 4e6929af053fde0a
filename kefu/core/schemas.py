"""The base of every schema the API answers with."""

from __future__ import annotations

from pydantic import BaseModel


class Out(BaseModel):
    """An answer's shape, filled field by field by the operation's `*_out` function.

    Not ninja's `Schema`: that one wraps whatever it validates in a getter that reads ORM objects by
    attribute, which our answers never are. Built from keyword arguments, a ticket cost 68 µs that way
    against 6 µs as plain pydantic, once per ticket of a list page and once per creation.
    """
