"""The auditor's list as a query string: filters, sort order and page, read and written back.

Dates are ISO days (``YYYY-MM-DD``) in UTC, the time zone every audit time is stored and shown
in; ``from`` is inclusive and ``to`` inclusive (up to the end of that day). The list is newest
first unless a column heading asked otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from ssc_response.serving.audit.filters import (
    PREDICTION_ID_RULE,
    AuditFilters,
    canonical_prediction_id,
    filter_problems,
)
from ssc_response.serving.audit.store import SORTABLE

SERVER_TIME_ZONE = "UTC"
TEXT_FILTERS = ("patient_id", "model_version", "key_id")
QUERY_FIELDS = ("prediction_id", "from", "to", *TEXT_FILTERS)
DEFAULT_SORT, DEFAULT_ORDER = "seq", "desc"


@dataclass(frozen=True)
class ListQuery:
    """What the list page was asked for."""

    filters: AuditFilters
    values: dict[str, str]  # as typed (the prediction id in its stored spelling once valid)
    problems: dict[str, str]
    sort: str = DEFAULT_SORT
    order: str = DEFAULT_ORDER

    @property
    def descending(self) -> bool:
        return self.order == "desc"

    @property
    def kept(self) -> dict[str, str]:
        """The non-empty filters, to carry into links."""
        return {name: value for name, value in self.values.items() if value}

    def href(self, offset: int = 0, sort: str | None = None, order: str | None = None) -> str:
        """The list with these filters, sorted as given (default: as now), at ``offset``."""
        query = {**self.kept, "sort": sort or self.sort, "order": order or self.order}
        if offset > 0:
            query["offset"] = str(offset)
        return "/audit?" + urlencode(query)

    def sort_href(self, column: str) -> str:
        """A column heading's link: sort by it, flipping the order if it is already the key."""
        flipped = "asc" if self.descending else "desc"
        return self.href(sort=column, order=flipped if column == self.sort else "desc")


def read_query(query: dict[str, str]) -> ListQuery:
    """The list's filters and order from the query string, with each problem in words."""
    values = {name: query.get(name, "").strip() for name in QUERY_FIELDS}
    given: dict[str, str | None] = {n: values[n] or None for n in TEXT_FILTERS}
    problems = filter_problems(given)
    prediction_id = _prediction_id(values, problems)
    since, until = _day(values["from"], problems, "from"), _day(values["to"], problems, "to")
    if until is not None:
        until += timedelta(days=1)
    sort = query.get("sort", DEFAULT_SORT)
    order = query.get("order", DEFAULT_ORDER)
    filters = AuditFilters(since, until, prediction_id=prediction_id, **given)
    return ListQuery(filters, values, problems, sort if sort in SORTABLE else DEFAULT_SORT,
                     order if order in ("asc", "desc") else DEFAULT_ORDER)


def _prediction_id(values: dict[str, str], problems: dict[str, str]) -> str | None:
    if not values["prediction_id"]:
        return None
    canonical = canonical_prediction_id(values["prediction_id"])
    if canonical is None:
        problems["prediction_id"] = PREDICTION_ID_RULE
        return None
    values["prediction_id"] = canonical
    return canonical


def _day(text: str, problems: dict[str, str], name: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        problems[name] = f"a date written YYYY-MM-DD, e.g. 2025-01-31 ({SERVER_TIME_ZONE})"
        return None
