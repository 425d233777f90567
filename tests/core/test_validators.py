"""The attrs validator that refuses a wrong type with InvalidArgument, naming field, type and value."""

from __future__ import annotations

import attrs
import pytest

from aidledger import Account, InvalidArgument
from aidledger.core.validators import instance_of


@attrs.frozen
class Holder:
    account: Account = attrs.field(validator=instance_of(Account))
    count: int | str = attrs.field(default=0, validator=instance_of(int, str))


class TestInstanceOf:
    def test_a_wrong_type_names_the_field_the_type_and_the_value(self) -> None:
        """An account code given for an Account is refused with the field, the expected type and the value."""
        with pytest.raises(InvalidArgument) as refused:
            Holder("Assets:Bank:KZT")  # type: ignore[arg-type]
        assert str(refused.value) == "account must be an Account, got 'Assets:Bank:KZT' (str)"
        assert refused.value.details["value"] == "Assets:Bank:KZT"

    def test_the_refusal_is_also_a_value_error(self) -> None:
        """InvalidArgument is a ValueError, so code that catches the builtin keeps working."""
        with pytest.raises(ValueError, match="got None"):
            Holder(None)  # type: ignore[arg-type]

    def test_several_types_are_named_with_or_and_their_article(self) -> None:
        """With more than one type, the message lists them with 'or' and picks 'a' or 'an' by the first."""
        from tests.conftest import Chart

        with pytest.raises(InvalidArgument, match=r"^count must be an int or str, got 2\.5 \(float\)$"):
            Holder(Chart.bank, 2.5)  # type: ignore[arg-type]

    def test_instances_pass(self) -> None:
        """A value of any of the given types is accepted unchanged."""
        from tests.conftest import Chart

        assert Holder(Chart.bank, "seven").count == "seven"
        assert Holder(Chart.bank, 7).count == 7
