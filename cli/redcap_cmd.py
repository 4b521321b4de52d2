"""``redcap-dictionary``: the REDCap data dictionary a centre uploads to create its project."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Annotated, NoReturn

import typer

EXIT_BAD_INPUT = 2


def register(app: typer.Typer) -> None:
    """Add the ``redcap-dictionary`` command to the program."""
    app.command("redcap-dictionary")(redcap_dictionary)


def redcap_dictionary(
    output: Annotated[Path, typer.Option(help="Where to write the data dictionary (.csv).")],
    event_mapping: Annotated[Path | None, typer.Option(
        help="Also write the instrument-event mapping of a longitudinal project (.csv): "
             "baseline instruments in baseline_arm_1, follow_up in month_12_arm_1.")] = None,
) -> None:
    """Write the REDCap data dictionary of the input contract (REDCap 14 format, 18 columns).

    Upload it in REDCap under Project Setup > Data Dictionary. Its export (raw or labels,
    classic or longitudinal) is then read by every command that takes ``--data``.
    """
    from ssc_response.features.redcap_dictionary import (
        FORM_ORDER,
        event_mapping_text,
        redcap_dictionary_rows,
        redcap_dictionary_text,
    )

    targets = [output] if event_mapping is None else [output, event_mapping]
    for target in targets:
        if target.suffix.lower() != ".csv":
            _fail(f"{target}: REDCap reads these files as .csv")
        if not target.parent.is_dir():
            _fail(f"{target.parent}: no such folder")
    _write_atomically(output, redcap_dictionary_text())
    typer.echo(f"wrote {len(redcap_dictionary_rows())} fields in {len(FORM_ORDER)} instruments "
               f"to {output}")
    if event_mapping is not None:
        _write_atomically(event_mapping, event_mapping_text())
        typer.echo(f"wrote the instrument-event mapping to {event_mapping} (define the events "
                   "'baseline' and 'month_12' in arm 1 first)")


def _write_atomically(target: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``target`` and move it into place."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=EXIT_BAD_INPUT)
