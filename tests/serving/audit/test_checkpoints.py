"""Signed checkpoints: truncation and rewrite of the chain are found given an earlier checkpoint.

The attacks are the security probe's (issue 23): with file access and the guard triggers dropped,
(a) delete the last entries, (b) rewrite one entry and recompute every later hash with the
project's own function. The chain alone then verifies; a checkpoint signed before must not.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from typer.testing import CliRunner

from ssc_response.cli import audit_cmd
from ssc_response.serving.audit import AuditStore, compute_entry_hash
from ssc_response.serving.audit.checkpoint import read_all
from ssc_response.serving.audit.signing import create_key_file, default_checkpoint_path
from ssc_response.serving.audit.trail import verify_trail
from ssc_response.serving.audit.watch import AuditWatch, WatchConfig
from tests.serving.audit.test_audit import fill

runner = CliRunner()
cli = typer.Typer()
audit_cmd.register(cli)


def drop_triggers_and_run(db_path: Path, *statements: str,
                          params: list[tuple[object, ...]] | None = None) -> None:
    """What someone with write access to the file can do: drop every guard, then write."""
    with closing(sqlite3.connect(db_path)) as raw:
        triggers = raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for (name,) in triggers:
            raw.execute(f"DROP TRIGGER {name}")
        for statement in statements:
            raw.execute(statement)
        for row in params or []:
            raw.execute("UPDATE audit_predictions SET output_json = ?, prev_hash = ?, "
                        "entry_hash = ? WHERE seq = ?", row)
        raw.commit()


def rewrite_and_rehash(store: AuditStore, db_path: Path, seq: int) -> None:
    """Change entry ``seq`` and recompute its hash and every later one (the probe's attack b)."""
    records, _ = store.list(limit=1000)
    rows, prev_hash = [], records[seq - 2].entry_hash if seq > 1 else "0" * 64
    for record in records[seq - 1:]:
        fields = record.model_dump()
        if record.seq == seq:
            fields["output_json"] = '{"probability":0.99}'
        fields["prev_hash"] = prev_hash
        prev_hash = compute_entry_hash(fields)
        rows.append((fields["output_json"], fields["prev_hash"], prev_hash, record.seq))
    drop_triggers_and_run(db_path, params=rows)


@pytest.fixture
def watch(engine: Engine, db_path: Path) -> AuditWatch:
    """The service's watch on the test database, with a key from a file beside it."""
    key = create_key_file(db_path.with_name("key.pem"))
    return AuditWatch(engine, WatchConfig(default_checkpoint_path(f"sqlite:///{db_path}"),
                                          key, 0, 0))


def verify_cli(db_path: Path, *options: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["audit", "verify", "--database-url", f"sqlite:///{db_path}",
                                 *options])
    return result.exit_code, result.output


def test_a_signed_checkpoint_verifies_and_an_edited_one_does_not(
    engine: Engine, watch: AuditWatch
) -> None:
    fill(AuditStore(engine), 3)
    signed = watch.checkpoint_now()

    assert signed is not None and (signed.predictions.seq, signed.accesses.seq) == (3, 0)
    assert read_all(watch.config.checkpoint_path) == [signed]
    assert signed.signature_valid(watch.config.trusted)
    forged = signed.model_copy(update={"predictions": signed.predictions.model_copy(
        update={"seq": 2})})
    assert not forged.signature_valid(watch.config.trusted)
    other_key = Ed25519PrivateKey.generate().public_key()
    assert not signed.signature_valid(other_key)


def test_an_unchanged_chain_is_not_signed_twice(engine: Engine, watch: AuditWatch) -> None:
    fill(AuditStore(engine), 2)
    assert watch.checkpoint_now() is not None
    assert watch.checkpoint_now() is None
    fill(AuditStore(engine), 1)
    assert watch.checkpoint_now() is not None
    assert len(read_all(watch.config.checkpoint_path)) == 2


def test_deleting_the_last_entries_is_reported_as_truncation(
    engine: Engine, db_path: Path, watch: AuditWatch
) -> None:
    store = AuditStore(engine)
    fill(store, 12)
    watch.checkpoint_now()

    drop_triggers_and_run(db_path, "DELETE FROM audit_predictions WHERE seq > 9")

    assert store.verify().ok  # the chain alone cannot see it: the probe's finding
    code, output = verify_cli(db_path)  # finds the default checkpoint file by itself
    assert code == 1, output
    assert "TRUNCATED" in output and "entries 10 to 12 were removed" in output
    assert "first entry concerned: 10" in output


def test_rewriting_and_rehashing_is_reported_with_the_first_entry_concerned(
    engine: Engine, db_path: Path, watch: AuditWatch
) -> None:
    store = AuditStore(engine)
    fill(store, 4)
    watch.checkpoint_now()  # entries 1-4 signed
    fill(store, 8)
    watch.checkpoint_now()  # entries 1-12 signed

    rewrite_and_rehash(store, db_path, seq=6)

    assert store.verify().ok  # re-hashed: the chain alone verifies
    code, output = verify_cli(db_path)
    assert code == 1, output
    assert "REWRITTEN" in output and "first entry concerned: 5" in output
    assert "entry 12 of the predictions chain" in output


def test_an_auditors_own_copy_catches_what_the_server_file_no_longer_shows(
    engine: Engine, db_path: Path, watch: AuditWatch, tmp_path: Path
) -> None:
    store = AuditStore(engine)
    fill(store, 5)
    watch.checkpoint_now()
    copy = tmp_path / "my-copy.jsonl"
    copy.write_bytes(watch.config.checkpoint_path.read_bytes())

    drop_triggers_and_run(db_path, "DELETE FROM audit_predictions WHERE seq = 5")
    watch.config.checkpoint_path.unlink()  # the writer removes the server's checkpoints too

    assert verify_cli(db_path)[0] == 0  # nothing left on the server to compare with
    code, output = verify_cli(db_path, "--checkpoints", str(copy))
    assert code == 1 and "first entry concerned: 5" in output


def test_the_watch_refuses_to_sign_over_a_rewritten_chain(
    engine: Engine, db_path: Path, watch: AuditWatch
) -> None:
    store = AuditStore(engine)
    fill(store, 6)
    watch.checkpoint_now()
    rewrite_and_rehash(store, db_path, seq=2)
    fill(store, 1)

    assert watch.checkpoint_now() is None
    assert watch.refusal is not None and "rewritten" in watch.refusal
    assert len(read_all(watch.config.checkpoint_path)) == 1


def test_a_checkpoint_from_another_key_is_reported(
    engine: Engine, db_path: Path, watch: AuditWatch
) -> None:
    fill(AuditStore(engine), 2)
    watch.checkpoint_now()
    stranger = Ed25519PrivateKey.generate().public_key()

    report = verify_trail(engine, read_all(watch.config.checkpoint_path), stranger)

    assert not report.ok
    assert [finding.kind for finding in report.findings] == ["signature"]


def test_verify_reports_a_clean_trail_with_its_checkpoint(
    engine: Engine, db_path: Path, watch: AuditWatch
) -> None:
    fill(AuditStore(engine), 3)
    watch.checkpoint_now()

    code, output = verify_cli(db_path, "--public-key", str(_public_key_file(watch, db_path)))

    assert code == 0, output
    assert output.startswith("OK: 3 entries verified")
    assert "Checkpoints: 1 in" in output and "predictions up to entry 3" in output


def _public_key_file(watch: AuditWatch, db_path: Path) -> Path:
    from ssc_response.serving.audit.signing import public_key_text

    assert watch.config.trusted is not None
    path = db_path.with_name("signer.pub")
    path.write_text(public_key_text(watch.config.trusted), encoding="utf-8")
    return path
