"""Field types the API's input schemas share (kefu.api and each app's api module), bounded so that what pydantic
accepts the databases can store.

An id beyond a 64-bit integer, a moment that leaves the years a database can hold once turned into UTC, or an
unbounded list of tags would pass pydantic and fail in the database (a 500); bounded here, they get a 422 that
names the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

MAX_ID = 2**63 - 1
FIRST_YEAR, LAST_YEAR = 1900, 9998
MAX_TAGS = 20  # on a ticket
MAX_TAG_FILTERS = 10  # in one list query: each one is a join
TAG_LENGTH = 50  # tickets.Tag.name


OUT_OF_RANGE = "moment_out_of_range"  # the error type kefu.api.errors translates


def _storable(moment: dt.datetime) -> dt.datetime:
    """The moment in UTC, refused outside FIRST_YEAR…LAST_YEAR (a far offset can push year 9999 past the end).

    A naive moment is kept as it is: the deployment's time zone applies, as Django does for one.
    """
    try:
        within = moment if moment.tzinfo is None else moment.astimezone(dt.UTC)
    except OverflowError:
        within = None
    if within is None or not FIRST_YEAR <= within.year <= LAST_YEAR:
        raise PydanticCustomError(OUT_OF_RANGE, "Give a moment between the years {first} and {last}.",
                                  {"first": FIRST_YEAR, "last": LAST_YEAR})
    return within


ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
Moment = Annotated[dt.datetime, AfterValidator(_storable)]
TagName = Annotated[str, Field(min_length=1, max_length=TAG_LENGTH)]
