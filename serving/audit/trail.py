"""The whole audit trail checked at once: the hash chains, then each against signed checkpoints.

A chain that verifies on its own can still have lost its last entries, or have been rewritten and
re-hashed by someone who can write the database. Checkpoints signed earlier catch both: the chain
must still reach every signed head, with the signed hash at that position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, func, select

from ssc_response.serving.audit.checkpoint import Checkpoint, Head
from ssc_response.serving.audit.hashing import GENESIS_HASH
from ssc_response.serving.audit.records import VerifyResult
from ssc_response.serving.audit.verify import ACCESSES, OUTCOMES, PREDICTIONS, Chain, verify_chain

CHAINS = {"predictions": PREDICTIONS, "accesses": ACCESSES, "outcomes": OUTCOMES}


@dataclass(frozen=True)
class Finding:
    """One way the chain disagrees with a checkpoint, with the first entry concerned."""

    chain: str  # "predictions", "accesses" or "outcomes"
    kind: str  # "truncated", "rewritten" or "signature"
    first_entry: int | None
    message: str


@dataclass(frozen=True)
class TrailReport:
    """Every chain verified, and what the checkpoints say about them."""

    predictions: VerifyResult
    accesses: VerifyResult
    checkpoints: int = 0
    latest: Checkpoint | None = None
    findings: list[Finding] = field(default_factory=list)
    outcomes: VerifyResult | None = None  # None only for a report built without that chain

    @property
    def ok(self) -> bool:
        outcomes_ok = self.outcomes is None or self.outcomes.ok
        return self.predictions.ok and self.accesses.ok and outcomes_ok and not self.findings


def read_heads(conn: Connection) -> dict[str, Head]:
    """The current head of each chain (seq 0 and the genesis hash when empty)."""
    heads = {}
    for name, chain in CHAINS.items():
        last = conn.execute(select(func.max(chain.seq))).scalar_one()
        heads[name] = Head(seq=last or 0, hash=entry_hash(conn, chain, last or 0))
    return heads


def entry_hash(conn: Connection, chain: Chain, seq: int) -> str:
    """The stored entry_hash at ``seq`` (the genesis hash for 0; empty when there is no entry)."""
    if seq == 0:
        return GENESIS_HASH
    stored = conn.execute(select(chain.table.c.entry_hash).where(chain.seq == seq)).scalar()
    return stored or ""


def verify_trail(engine: Engine, checkpoints: Sequence[Checkpoint],
                 trusted: Ed25519PublicKey | None) -> TrailReport:
    """Verify every chain, then compare them with every checkpoint (in one snapshot)."""
    with engine.connect() as conn, conn.begin():
        results = {name: verify_chain(conn, chain=chain) for name, chain in CHAINS.items()}
        findings = signature_findings(checkpoints, trusted)
        for name, chain in CHAINS.items():
            findings += chain_findings(conn, name, chain, checkpoints)
    return TrailReport(results["predictions"], results["accesses"], len(checkpoints),
                       checkpoints[-1] if checkpoints else None, findings,
                       results["outcomes"])


def signature_findings(checkpoints: Sequence[Checkpoint],
                       trusted: Ed25519PublicKey | None) -> list[Finding]:
    """Checkpoints whose signature does not hold: they prove nothing, and say so."""
    return [Finding("predictions", "signature", None,
                    f"checkpoint {number} (signed {cp.signed_at}) has an invalid signature"
                    + ("" if trusted is None else " for the trusted public key"))
            for number, cp in enumerate(checkpoints, start=1)
            if not cp.signature_valid(trusted)]


def chain_findings(conn: Connection, name: str, chain: Chain,
                   checkpoints: Sequence[Checkpoint]) -> list[Finding]:
    """Truncation (chain shorter than a signed head) and rewrite (signed hash not on the chain)."""
    first_signed: dict[int, Head] = {}
    for checkpoint in checkpoints:  # the earliest signature of a position is the one that counts
        head = checkpoint.head(name)
        if head is not None:  # signed before this chain existed: it says nothing about it
            first_signed.setdefault(head.seq, head)
    signed = sorted(first_signed.items())
    last = conn.execute(select(func.max(chain.seq))).scalar_one() or 0
    findings, intact = [], 0
    if signed and signed[-1][0] > last:
        findings.append(Finding(name, "truncated", last + 1,
                                f"the {name} chain ends at entry {last}, but a checkpoint signed "
                                f"entry {signed[-1][0]}: entries {last + 1} to {signed[-1][0]} "
                                "were removed"))
    for seq, head in signed:
        if seq > last:
            break
        if entry_hash(conn, chain, seq) != head.hash:
            findings.append(Finding(name, "rewritten", intact + 1,
                                    f"entry {seq} of the {name} chain no longer has the hash a "
                                    f"checkpoint signed: entries {intact + 1} to {seq} were "
                                    "rewritten (the first changed entry is in that range)"))
            break
        intact = seq
    return findings

