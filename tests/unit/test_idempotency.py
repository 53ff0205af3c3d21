"""The one decision of an Idempotency-Key (lif/idempotency.py): new, repeat, or refused; keys per board."""

from __future__ import annotations

import pytest

from lif.idempotency import Idempotency, KeyReused, repeat_of, scoped_key


def test_a_key_is_new_repeats_its_record_or_refuses_another_request() -> None:
    key = Idempotency(scoped_key("BOL", "form-1"), "hash-1")
    assert repeat_of(None, key) is None
    assert repeat_of(("hash-1", {"event_id": "e1"}), key) == {"event_id": "e1"}
    with pytest.raises(KeyReused) as refused:
        repeat_of(("hash-2", {"event_id": "e1"}), key)
    assert refused.value.field == "Idempotency-Key"


def test_keys_are_scoped_to_the_board_and_kept_as_digests() -> None:
    assert scoped_key("BOL", "form-1") != scoped_key("WGN", "form-1")
    assert scoped_key("BOL", "form-1") == scoped_key("BOL", "form-1")
    assert "form-1" not in scoped_key("BOL", "form-1")
    assert scoped_key("BO", "Lform-1") != scoped_key("BOL", "form-1")
    assert Idempotency("k", "h").part("due") == Idempotency("k:due", "h")
