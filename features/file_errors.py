"""Why a patient file cannot be read, said in one line a clinician understands.

Every reader of patient files (``features.io``) turns a library's failure into one of these, so
no parser's internal message (pandas, pyarrow, openpyxl, codecs) ever reaches the user. The
command line and the upload page say the same cause; only the remedy is worded for each (a
command-line option, or a choice on the form).
"""

from __future__ import annotations


class FileProblem(ValueError):
    """A file that cannot be read as a table of patients; ``str()`` is the command line's line.

    ``page_message`` is the same cause with the remedy worded for the upload form (``None``: the
    same words as the command line).
    """

    def __init__(self, message: str, page_message: str | None = None) -> None:
        super().__init__(message)
        self.page_message = page_message or message


class TooManyRows(FileProblem):
    """More patients than one read may hold (an upload's limit); the limit is named."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the file has more than {limit} patients; at most {limit} can be read "
                         "at once: split it and read each part")


class FileTooLarge(FileProblem):
    """A file whose decompressed content would exceed the memory allowed for one read."""

    def __init__(self, size: int, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the file holds {_mib(size)} of data once decompressed; at most "
                         f"{_mib(limit)} can be read at once: split it and read each part")


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"
