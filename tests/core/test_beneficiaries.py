"""Pseudonymous beneficiaries: a keyed hash of the registry id, per key version, keys never shown."""

from __future__ import annotations

import re

import pytest

from aidledger import Beneficiary, InvalidArgument, Pseudonymizer

KEY_1 = bytes(range(32))
KEY_2 = bytes(range(100, 132))


class TestPseudonyms:
    def test_a_pseudonym_is_the_key_version_and_64_hex_digits(self) -> None:
        """The same registry id and key always give the same pseudonym, which names its key version."""
        keys = Pseudonymizer({1: KEY_1})
        beneficiary = keys.pseudonym("KZ-HH-0000001")
        assert re.fullmatch(r"v1-[0-9a-f]{64}", str(beneficiary))
        assert beneficiary == keys.pseudonym("KZ-HH-0000001")
        assert beneficiary.key_version == 1
        assert keys.pseudonym("KZ-HH-0000002") != beneficiary

    def test_another_key_gives_another_pseudonym(self) -> None:
        """Without the key, a pseudonym cannot be recomputed from a registry id."""
        assert Pseudonymizer({1: KEY_1}).pseudonym("hh-1") != Pseudonymizer({1: KEY_2}).pseudonym("hh-1")

    def test_new_pseudonyms_use_the_newest_key_and_old_ones_stay_known(self) -> None:
        """With two versions, new pseudonyms use the newest; all_pseudonyms lists every version, newest first."""
        rotated = Pseudonymizer({1: KEY_1, 2: KEY_2})
        assert rotated.current == 2
        assert rotated.pseudonym("hh-1").key_version == 2
        assert rotated.all_pseudonyms("hh-1") == (
            rotated.pseudonym("hh-1"),
            Pseudonymizer({1: KEY_1}).pseudonym("hh-1"),
        )

    @pytest.mark.parametrize("registry_id", ["", "   ", None, 7])
    def test_a_registry_id_is_non_empty_text(self, registry_id: object) -> None:
        """An empty or non-text registry id is refused."""
        with pytest.raises(InvalidArgument, match="registry id must be non-empty text"):
            Pseudonymizer({1: KEY_1}).pseudonym(registry_id)  # type: ignore[arg-type]

    @pytest.mark.parametrize("text", ["KZ-HH-0000001", "v1-abc", "v1-" + "G" * 64, "1-" + "a" * 64])
    def test_a_beneficiary_is_only_a_pseudonym(self, text: str) -> None:
        """A registry id or a malformed pseudonym is not a Beneficiary."""
        with pytest.raises(InvalidArgument, match="not a beneficiary pseudonym"):
            Beneficiary(text)


class TestKeys:
    @pytest.mark.parametrize("keys", [{0: KEY_1}, {10_000: KEY_1}, {"1": KEY_1}])
    def test_key_versions_run_from_1_to_9999(self, keys: dict[object, bytes]) -> None:
        """At least one key is needed, under an integer version from 1 to 9999."""
        with pytest.raises(InvalidArgument):
            Pseudonymizer(keys)  # type: ignore[arg-type]

    def test_no_key_at_all_is_refused_by_name(self) -> None:
        """An empty key mapping is refused with InvalidArgument saying a key is needed."""
        with pytest.raises(InvalidArgument, match="needs at least one key"):
            Pseudonymizer({})

    def test_the_current_version_must_be_held(self) -> None:
        """Choosing a current version without its key, or asking for one, is refused."""
        with pytest.raises(InvalidArgument, match="no key with version 2"):
            Pseudonymizer({1: KEY_1}, current=2)
        with pytest.raises(InvalidArgument, match="no key with version 3"):
            Pseudonymizer({1: KEY_1}).pseudonym("hh-1", version=3)

    def test_the_keys_never_show(self) -> None:
        """repr names the versions only."""
        assert repr(Pseudonymizer({1: KEY_1, 2: KEY_2})) == "Pseudonymizer(versions=[1, 2], current=2)"

    def test_a_key_from_hex_or_the_environment(self, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """The key may be hex text, in AIDLEDGER_PSEUDONYM_KEY or in the file AIDLEDGER_PSEUDONYM_KEY_FILE names."""
        same = Pseudonymizer({1: KEY_1}).pseudonym("hh-1")
        assert Pseudonymizer.from_hex(KEY_1.hex()).pseudonym("hh-1") == same
        with pytest.raises(InvalidArgument, match="must be hex text"):
            Pseudonymizer.from_hex("not hex")
        monkeypatch.delenv("AIDLEDGER_PSEUDONYM_KEY", raising=False)
        monkeypatch.delenv("AIDLEDGER_PSEUDONYM_KEY_FILE", raising=False)
        with pytest.raises(InvalidArgument, match="no pseudonym key"):
            Pseudonymizer.from_environment()
        (tmp_path / "key").write_text(KEY_1.hex() + "\n")
        monkeypatch.setenv("AIDLEDGER_PSEUDONYM_KEY_FILE", str(tmp_path / "key"))
        assert Pseudonymizer.from_environment().pseudonym("hh-1") == same
        monkeypatch.setenv("AIDLEDGER_PSEUDONYM_KEY", KEY_2.hex())
        assert Pseudonymizer.from_environment().pseudonym("hh-1") != same
