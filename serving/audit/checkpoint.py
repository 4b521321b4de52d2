"""Signed checkpoints of the audit chains, kept in an append-only file outside the database.

A checkpoint is the head of each chain (last sequence number and its entry hash) at one moment,
signed with Ed25519. Whoever holds an earlier checkpoint can later prove that the chain still
contains it: a chain shorter than a signed head was truncated, and a signed head hash no longer
on the chain means history was rewritten (the approach of Certificate Transparency's signed tree
heads). One JSON object a line; a line is never changed once written.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ssc_response.serving.audit.hashing import canonical_json
from ssc_response.serving.audit.signing import public_key_from_text, public_key_text

FORMAT = "ssc-audit-checkpoint/1"


class Head(BaseModel):
    """The last entry of one chain: its sequence number (0 when empty) and entry hash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=0)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class Checkpoint(BaseModel):
    """One signed statement: 'at ``signed_at`` the chains ended at these heads'."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = FORMAT
    signed_at: str
    predictions: Head
    accesses: Head
    # The outcome chain's head; absent from checkpoints signed before that chain existed (and
    # then left out of the signed bytes, so their signatures still hold).
    outcomes: Head | None = None
    public_key: str = Field(description="base64 of the signer's 32-byte Ed25519 public key")
    signature: str = Field(default="", description="base64 Ed25519 signature of the rest")

    def signed_bytes(self) -> bytes:
        """What the signature covers: every field but the signature, as canonical JSON."""
        signed = self.model_dump(exclude={"signature"})
        if signed["outcomes"] is None:
            del signed["outcomes"]
        return canonical_json(signed).encode("utf-8")

    def head(self, chain: str) -> Head | None:
        """The signed head of ``chain`` ("predictions", "accesses" or "outcomes")."""
        return {"predictions": self.predictions, "accesses": self.accesses,
                "outcomes": self.outcomes}[chain]

    def signature_valid(self, trusted: Ed25519PublicKey | None = None) -> bool:
        """Whether the signature holds under ``trusted`` (else under the key it names itself)."""
        key = trusted or public_key_from_text(self.public_key)
        try:
            key.verify(base64.b64decode(self.signature), self.signed_bytes())
        except (InvalidSignature, ValueError):
            return False
        return True


def sign(key: Ed25519PrivateKey, signed_at: str, predictions: Head, accesses: Head,
         outcomes: Head | None = None) -> Checkpoint:
    """A checkpoint of the chains' heads, signed with ``key``."""
    unsigned = Checkpoint(signed_at=signed_at, predictions=predictions, accesses=accesses,
                          outcomes=outcomes, public_key=public_key_text(key.public_key()))
    signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode("ascii")
    return unsigned.model_copy(update={"signature": signature})


def append(path: Path, checkpoint: Checkpoint) -> None:
    """Add one line to the checkpoint file, durably; concurrent writers (workers) take turns."""
    line = (checkpoint.model_dump_json() + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.write(descriptor, line)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)  # closing releases the lock


class CheckpointFileError(ValueError):
    """A checkpoint file line that is not a checkpoint (its line number in words)."""


def read_all(path: Path) -> list[Checkpoint]:
    """Every checkpoint in ``path`` in file order (none when the file does not exist)."""
    if not path.is_file():
        return []
    return parse_lines(path.read_text(encoding="utf-8").splitlines(), str(path))


def parse_lines(lines: list[str], source: str) -> list[Checkpoint]:
    """Checkpoints from JSON lines; blank lines are skipped, anything else is an error."""
    checkpoints = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            checkpoints.append(Checkpoint.model_validate(json.loads(line)))
        except (ValidationError, ValueError):
            raise CheckpointFileError(f"line {number} of {source} is not a checkpoint") from None
    return checkpoints
