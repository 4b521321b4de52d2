"""No patient data in the server's logs: uvicorn's access log without query strings.

The auditor's list filters by patient id in its query string (``/audit?patient_id=...``), and
uvicorn's access log writes every request's path with its query. The filter below keeps the path
and drops the query, so the log still says which page was asked for, by whom and with what
status, but not which patient.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


class QueryRedacted(logging.Filter):
    """Replace the query string of an access-log line's path with ``?…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, question, _query = args[2].partition("?")
            record.args = (*args[:2], path + ("?…" if question else ""), *args[3:])
        return True


def redact_access_log() -> None:
    """Add the filter to uvicorn's access logger once per process."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, QueryRedacted) for existing in logger.filters):
        logger.addFilter(QueryRedacted())
