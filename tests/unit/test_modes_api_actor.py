"""The modes routes' own check of a token (behind the API's token check): a token of a shipper
or receiver is refused with 403 naming the organisation; the carrier's acts as itself."""

from __future__ import annotations

import pytest

from logistream.api.errors import ApiError
from logistream.api.routes.modes import _actor
from logistream.api.tokens import Principal
from logistream.modes.rules import ModeActor


def test_a_carrier_token_acts_as_itself() -> None:
    for organisation in (None, "carrier"):
        who = Principal("ops", frozenset({"shipments"}), organisation)
        assert _actor(who) == ModeActor("ops", "api", None, organisation)


def test_a_shippers_token_is_refused() -> None:
    with pytest.raises(ApiError) as caught:
        _actor(Principal("kemsa-bot", frozenset({"read", "shipments"}), "kemsa"))
    assert caught.value.status == 403
    assert caught.value.extra["field"] == "organisation"
    assert caught.value.detail.startswith("organisation: the token 'kemsa-bot' acts for 'kemsa'")
