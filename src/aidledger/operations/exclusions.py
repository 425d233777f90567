"""Exclusion groups: programmes meant to exclude each other for one beneficiary.

A **hard** group is enforced by the once-only claims the ledger already keeps:
every payment of a programme in the group also claims the beneficiary's
pseudonym in the group's scope (``exclusion:<group>``), so a second programme
of the group cannot pay them while the first payment stands, across batches,
processes and retries; a failed or returned payment releases that claim with
the programme's own.  A **soft** group takes no claim: payments are accepted,
and :func:`~aidledger.exclusion_conflicts` reports the beneficiaries two of
its programmes pay.

A group binds the payments made after it is declared (earlier ones hold no
claim in its scope); :func:`~aidledger.exclusion_conflicts` reads every live
payment, so an overlap made before the declaration is still reported.  The
programmes of a group must claim under one pseudonym key version: the same
person has another pseudonym under another key.
"""

from __future__ import annotations

from collections.abc import Sequence

from aidledger.core.accounts import check_code
from aidledger.core.errors import DuplicateClaim, ExclusionConflict, InvalidArgument
from aidledger.ledger.ledger import Ledger
from aidledger.operations.base import Operations
from aidledger.vocabulary import (
    CLAIM_PREFIX,
    EXCLUSION_CLAIM_PREFIX,
    ExclusionGroup,
    Programme,
    RecordKind,
    Severity,
)


def exclusion_scope(group: str) -> str:
    """The claim scope of a hard exclusion group."""
    return f"{EXCLUSION_CLAIM_PREFIX}{group}"


def groups_of(ledger: Ledger) -> tuple[ExclusionGroup, ...]:
    """Every exclusion group, in the order they were declared."""
    return tuple(ExclusionGroup.from_record(r) for r in ledger.records(RecordKind.EXCLUSION_GROUP))


def hard_groups(ledger: Ledger, programme: str) -> tuple[str, ...]:
    """The codes of the hard groups ``programme`` is in."""
    return tuple(g.code for g in groups_of(ledger) if g.severity is Severity.HARD and programme in g.programmes)


def exclusion_conflict(
    ledger: Ledger, programme: str, lines: Sequence[tuple[str, str]], error: DuplicateClaim
) -> ExclusionConflict:
    """The ExclusionConflict for a taken claim of a hard group: which list line (of ``lines``, each a pseudonym and
    a reference), which other programme."""
    group = str(error.details.get("scope", "")).removeprefix(EXCLUSION_CLAIM_PREFIX)
    key = str(error.details.get("key", ""))
    record = ledger.record(RecordKind.EXCLUSION_GROUP, group)
    members = () if record is None else ExclusionGroup.from_record(record).programmes
    others = sorted(
        claim.scope.removeprefix(CLAIM_PREFIX)
        for claim in ledger.active_claims(CLAIM_PREFIX)
        if claim.key == key and claim.scope.removeprefix(CLAIM_PREFIX) in members
    )
    holder = ", ".join(p for p in others if p != programme) or "another programme of the group"
    number, reference = next(
        ((n, ref) for n, (pseudonym, ref) in enumerate(lines, start=1) if pseudonym == key), (0, "")
    )
    where = f"line {number} ({reference})" if number else "a line"
    return ExclusionConflict(
        f"{where}: beneficiary {key} is already paid by programme {holder}, which excludes {programme} "
        f"(hard exclusion group {group}); nothing was posted",
        scope=error.details.get("scope"),
        key=key,
        group=group,
        programme=holder,
        line=number,
        reference=reference,
    )


class ExclusionOperations(Operations):
    """Declaring exclusion groups."""

    def declare_exclusion(
        self,
        code: str,
        programmes: Sequence[str],
        *,
        severity: Severity,
        reason: str,
        actor: str,
    ) -> ExclusionGroup:
        """Declare programmes mutually exclusive for one beneficiary (see the module documentation)."""
        check_code("exclusion group", code)
        if not isinstance(severity, Severity):
            raise InvalidArgument(f"severity must be a Severity, got {severity!r}", value=severity)
        codes = sorted({str(p) for p in programmes}) if not isinstance(programmes, str) else []
        if len(codes) < 2:
            raise InvalidArgument(f"exclusion group {code} needs two or more programmes, got {programmes!r}")
        found = [Programme.from_record(self._record(RecordKind.PROGRAMME, p)) for p in codes]
        versions = {p.key_version for p in found}
        if len(versions) > 1:
            raise InvalidArgument(
                f"exclusion group {code}: its programmes claim under pseudonym key versions "
                f"{sorted(versions)}; one person has another pseudonym under each, so they cannot be compared",
                versions=sorted(versions),
            )
        body = {"programmes": codes, "severity": severity.value, "reason": self._text(reason, "reason")}
        self.ledger.put_record(RecordKind.EXCLUSION_GROUP, code, body, actor=actor)
        return ExclusionGroup.from_record(self._record(RecordKind.EXCLUSION_GROUP, code))
