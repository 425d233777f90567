"""Households two organisations both serve, found without either learning who else the other serves.

Two organisations of a consortium each keep their own ledger, registry and
pseudonym key: the same household has unrelated pseudonyms in the two ledgers.
To find the households both pay in a programme, each side

1. turns its live beneficiaries of the programme into **consortium
   pseudonyms**: an HMAC of the registry id under a key the consortium shares
   (separate from each organisation's own key), so one household has one
   consortium pseudonym in both organisations (:meth:`ConsortiumParty.of`);
2. exchanges them through a **private set intersection** (Diffie–Hellman
   PSI, as in Meadows 1986 and Huberman, Franklin and Hogg 1999, on Curve25519
   with the ``cryptography`` package's X25519): each side blinds every
   element with a secret of its own, made for this exchange and never sent;
   the other side blinds what it receives once more; an element blinded by
   both secrets is the same on both sides exactly when the household is the
   same, and nothing else can be compared.

The exchange, for organisations A and B (each message a :class:`ConsortiumList`
of hex strings that can travel as JSON)::

    a_offer = a.offer()                 # A → B
    b_offer = b.offer()                 # B → A
    a_answer = b.answer(a_offer)        # B → A: A's elements, blinded by B too
    b_answer = a.answer(b_offer)        # A → B
    a.shared(b_offer, a_answer)         # A's own pseudonyms of the shared households
    b.shared(a_offer, b_answer)         # B's own pseudonyms of the same households

**What a partner learns** (the threat model).  Against a partner that follows
the exchange: how many households are on your list, and which of *its own*
households are also on it; it learns nothing about the others (their blinded
elements cannot be unblinded or compared without your secret: the
Diffie–Hellman assumption on Curve25519).  No registry id, name, own
pseudonym or consortium pseudonym is sent.  What it does **not** protect
against: a partner that puts households it does not serve on its list (any
registry id it knows, computed with the consortium key) learns whether you
serve *those* households: that is what any set intersection reveals, so the
consortium agreement, the size of lists and an audit of who asked for what are
the controls.  Anyone who holds the consortium key and a registry id can
compute that person's consortium pseudonym, so the consortium key is a secret
of the consortium; it never identifies anyone to an outsider, and it is never
one of an organisation's own keys (:meth:`ConsortiumParty.of` refuses that).
Households whose personal data was erased (or whose key was destroyed) have no
registry id left and are left out of the list (``left_out`` counts them).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import attrs

from aidledger.core.beneficiaries import Beneficiary, Pseudonymizer
from aidledger.core.errors import InvalidArgument
from aidledger.ledger.ledger import Ledger
from aidledger.queries._reading import require_ledger
from aidledger.registry import PersonStatus, Registry
from aidledger.vocabulary import CLAIM_PREFIX, RecordKind

if TYPE_CHECKING:  # cryptography is imported where it is used, so that `import aidledger` does not load it
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

_DOMAIN = b"aidledger consortium PSI v1\x00"


def _texts(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise InvalidArgument("a list's elements must be a sequence of hex strings, not one string")
    return tuple(values)


@attrs.frozen
class ConsortiumList:
    """One message of the exchange: blinded elements, as hex text.

    Attributes:
        elements: the blinded elements (an offer is sorted, so its order says nothing; an answer keeps the order
            of the offer it answers).
    """

    elements: tuple[str, ...] = attrs.field(converter=_texts)


@attrs.frozen(kw_only=True)
class SharedHouseholds:
    """What the exchange found, on one side.

    Attributes:
        programme: this side's programme.
        mine: how many households this side put on its list.
        theirs: how many the partner put on its list.
        beneficiaries: this side's own pseudonyms of the households both serve, sorted.
    """

    programme: str
    mine: int
    theirs: int
    beneficiaries: tuple[Beneficiary, ...]


def _point(consortium_pseudonym: str) -> X25519PublicKey:
    """The curve point (u-coordinate) a consortium pseudonym is hashed to."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

    digest = hashlib.sha256(_DOMAIN + consortium_pseudonym.encode("ascii")).digest()
    return X25519PublicKey.from_public_bytes(digest)


def _blind(secret: X25519PrivateKey, element: X25519PublicKey) -> str:
    try:
        return secret.exchange(element).hex()
    except ValueError:  # a low-order point: never the hash of a pseudonym in practice, never a valid element
        raise InvalidArgument("a list element is not a usable curve point") from None


def _element(text: object) -> X25519PublicKey:
    if not isinstance(text, str) or len(text) != 64:
        raise InvalidArgument(f"a list element must be 64 hex characters, got {text!r}")
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

    try:
        return X25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except ValueError:
        raise InvalidArgument(f"a list element must be 64 hex characters, got {text!r}") from None


class ConsortiumParty:
    """One organisation's side of one exchange (see the module documentation); its secret lives in memory only."""

    def __init__(self, programme: str, members: Mapping[str, Beneficiary], *, left_out: int = 0) -> None:
        self.programme = programme
        self.left_out = left_out
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        self._secret = X25519PrivateKey.generate()
        blinded = {_blind(self._secret, _point(c)): own for c, own in members.items()}
        self._offer = tuple(sorted(blinded))
        self._own = [blinded[e] for e in self._offer]

    @classmethod
    def of(cls, ledger: Ledger, registry: Registry, programme: str, consortium: Pseudonymizer) -> ConsortiumParty:
        """The live beneficiaries of ``programme`` (its claims), by consortium pseudonym made from the registry."""
        require_ledger(ledger)
        if ledger.record(RecordKind.PROGRAMME, programme) is None:
            raise InvalidArgument(f"no programme {programme!r}", programme=programme)
        if not isinstance(consortium, Pseudonymizer):
            raise InvalidArgument(f"the consortium key must be a Pseudonymizer, got {consortium!r}")
        own = set(registry.keys.keys.values())
        if any(hmac.compare_digest(key, mine) for key in consortium.keys.values() for mine in own):
            raise InvalidArgument("the consortium key must not be one of the organisation's own pseudonym keys")
        scope = f"{CLAIM_PREFIX}{programme}"
        holders = sorted({c.key for c in ledger.active_claims(scope) if c.scope == scope})
        people = registry.lookup(holders)
        members: dict[str, Beneficiary] = {}
        for pseudonym in holders:
            person = people[pseudonym]
            if person.status is PersonStatus.REGISTERED and person.registry_id:
                members[consortium.pseudonym(person.registry_id).pseudonym] = Beneficiary(pseudonym)
        return cls(programme, members, left_out=len(holders) - len(members))

    def offer(self) -> ConsortiumList:
        """This side's households, blinded by its secret (to send to the partner)."""
        return ConsortiumList(self._offer)

    def answer(self, theirs: ConsortiumList) -> ConsortiumList:
        """The partner's offer blinded by this side's secret too, in the partner's order (to send back)."""
        if not isinstance(theirs, ConsortiumList):
            raise InvalidArgument(f"expected a ConsortiumList, got {theirs!r}")
        return ConsortiumList(tuple(_blind(self._secret, _element(e)) for e in theirs.elements))

    def shared(self, their_offer: ConsortiumList, my_answer: ConsortiumList) -> SharedHouseholds:
        """The households on both lists, as this side's own pseudonyms.

        ``their_offer`` is the partner's offer; ``my_answer`` the partner's
        answer to this side's offer (as long as the offer, in its order).
        """
        if not isinstance(their_offer, ConsortiumList) or not isinstance(my_answer, ConsortiumList):
            raise InvalidArgument("shared takes the partner's offer and its answer, both ConsortiumList values")
        if len(my_answer.elements) != len(self._offer):
            raise InvalidArgument(
                f"the partner's answer has {len(my_answer.elements)} elements; this side offered {len(self._offer)}"
            )
        theirs = {_blind(self._secret, _element(e)) for e in their_offer.elements}
        twice = [_element(e).public_bytes_raw().hex() for e in my_answer.elements]
        both = [own for element, own in zip(twice, self._own, strict=True) if element in theirs]
        return SharedHouseholds(
            programme=self.programme,
            mine=len(self._offer),
            theirs=len(their_offer.elements),
            beneficiaries=tuple(sorted(both, key=lambda b: b.pseudonym)),
        )


__all__ = ["ConsortiumList", "ConsortiumParty", "SharedHouseholds"]
