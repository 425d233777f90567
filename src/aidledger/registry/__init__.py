"""The registry of beneficiaries' personal data, kept apart from the journal and erasable per person."""

from aidledger.registry.registry import Person, PersonStatus, Registry

__all__ = ["Person", "PersonStatus", "Registry"]
