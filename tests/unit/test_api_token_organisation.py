"""An API token's organisation (pure): the id is checked as shipment files name organisations,
and the token cache hands it to the routes with the token's name and scopes (a lookup from
before migration 0032 has none)."""

from __future__ import annotations

import pytest

from logistream.api.token_store import TokenCache, TokenRow
from logistream.api.tokens import Principal, check_organisation, hash_token, new_token


def test_an_organisation_is_an_id_or_none() -> None:
    assert check_organisation("moh-western") == "moh-western"
    assert check_organisation(None) is None
    for bad in ("", "a b", "-lead", "x" * 65):
        with pytest.raises(ValueError, match="--organisation"):
            check_organisation(bad)


def test_the_cache_carries_the_tokens_organisation() -> None:
    receiver, operator, older = new_token(), new_token(), new_token()
    rows: dict[str, TokenRow] = {
        hash_token(receiver): ("moh-clerk", ["shipments"], False, "moh-western"),
        hash_token(operator): ("dispatch", ["shipments"], False, None),
        hash_token(older): ("erp", ["read"], False),
    }
    cache = TokenCache(rows.get, ttl_s=5.0, clock=lambda: 0.0)
    assert cache.resolve(receiver) == Principal(
        "moh-clerk", frozenset({"shipments"}), "moh-western"
    )
    # A token of no organisation is the carrier's systems: recorded as the carrier's.
    assert cache.resolve(operator) == Principal("dispatch", frozenset({"shipments"}), "carrier")
    assert cache.resolve(older) == Principal("erp", frozenset({"read"}), "carrier")
