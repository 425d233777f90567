"""One rule for recognising an actor or a registry id under another spelling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidledger import InvalidArgument, Pseudonymizer
from aidledger.core.identity import identity_key, same_identity

KEYS = Pseudonymizer({1: b"k" * 32})


class TestIdentityKey:
    @pytest.mark.parametrize(
        "spelling",
        [
            "Officer",
            "officer",
            "officer ",
            " OFFICER",
            "Оfficer",
            "оffiсеr",
            "Off\u200bicer",
            "\ufeffOfficer",
            "ＯＦＦＩＣＥＲ",
        ],
    )
    def test_spellings_of_one_actor_are_one_identity(self, spelling: str) -> None:
        """Case, white space, zero-width characters, Cyrillic look-alikes and full-width forms fold together."""
        assert identity_key(spelling) == "OFFICER"
        assert same_identity(spelling, "Officer")

    def test_different_people_stay_different(self) -> None:
        """Folding does not merge actors whose visible letters differ."""
        assert not same_identity("officer", "officers")
        assert not same_identity("HH-050", "HH-50")  # zero padding is significant in some registries

    @pytest.mark.parametrize("text", ["", "   ", "\u200b", "\ufeff \u2060"])
    def test_nothing_visible_is_refused(self, text: str) -> None:
        """An identity with no visible character is InvalidArgument."""
        with pytest.raises(InvalidArgument, match="no visible characters"):
            identity_key(text)

    def test_not_text_is_refused(self) -> None:
        """Only text is an identity."""
        with pytest.raises(InvalidArgument, match="must be text"):
            identity_key(42)

    @given(st.text(min_size=1))
    def test_the_key_is_a_fixed_point(self, text: str) -> None:
        """Folding a key again gives the same key (so stored keys can be compared with new ones)."""
        try:
            key = identity_key(text)
        except InvalidArgument:
            return
        assert identity_key(key) == key


class TestRegistryIds:
    @pytest.mark.parametrize(
        "spelling", ["KZ-HH-0000050", "kz-hh-0000050", " KZ-HH-0000050 ", "KZ\u2011HH\u20110000050", "КZ-НН-0000050"]
    )
    def test_spellings_of_one_registry_id_are_one_beneficiary(self, spelling: str) -> None:
        """Case, surrounding spaces, Unicode hyphens and Cyrillic look-alikes give the same pseudonym."""
        assert KEYS.pseudonym(spelling) == KEYS.pseudonym("KZ-HH-0000050")

    def test_an_id_already_in_normal_form_keeps_its_pseudonym(self) -> None:
        """Upper-case ASCII ids hash as their own text, so pseudonyms made before the rule are unchanged."""
        import hashlib
        import hmac

        expected = hmac.new(b"k" * 32, b"KZ-HH-0000050", hashlib.sha256).hexdigest()
        assert KEYS.pseudonym("KZ-HH-0000050").pseudonym == f"v1-{expected}"
