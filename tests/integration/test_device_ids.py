"""Device ids are an HMAC of the push token under a server secret (DEVICE_ID_SECRET), not a
plain hash anyone can recompute from a guessed token; registration stays idempotent and a
token still moves between members."""

from __future__ import annotations

import hashlib

import pytest

from chalicelib.adapters import keys
from chalicelib.adapters.members.repository import MemberRepository
from chalicelib.domain.members.model import Device, NewMember
from chalicelib.services.members import members

TOKEN = "fcm-token-0123456789-abcdefghij"


def _with_secret(monkeypatch: pytest.MonkeyPatch, secret: str, stage: str = "test") -> None:
    from chalicelib import config

    monkeypatch.setenv("DEVICE_ID_SECRET", secret)
    monkeypatch.setenv("PERKS_STAGE", stage)
    config.get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings():
    from chalicelib import config

    yield
    config.get_settings.cache_clear()


def test_the_device_id_is_keyed_by_the_server_secret(monkeypatch):
    plain = hashlib.sha256(TOKEN.encode()).hexdigest()[:32]
    _with_secret(monkeypatch, "secret-one-0123456789")
    one = keys.device_hash(TOKEN)
    _with_secret(monkeypatch, "secret-two-0123456789")
    two = keys.device_hash(TOKEN)
    assert one != plain and two != plain and one != two
    assert len(one) == 32 and keys.device_hash(TOKEN) == two  # stable under one secret


def test_prod_refuses_to_derive_ids_without_a_secret(monkeypatch):
    _with_secret(monkeypatch, "", stage="prod")
    with pytest.raises(RuntimeError, match="DEVICE_ID_SECRET"):
        keys.device_hash(TOKEN)


def test_registration_is_idempotent_and_a_token_moves_to_its_new_member(engine):
    for m in ("m-a", "m-b"):
        members.register(NewMember(member_id=m))
    device = Device(platform="android", token=TOKEN)
    first = members.add_device("m-a", device)
    again = members.add_device("m-a", device)
    repo = MemberRepository()
    assert first.device_id == again.device_id == keys.device_hash(TOKEN)
    assert first.device_id != hashlib.sha256(TOKEN.encode()).hexdigest()[:32]
    assert [d["device_id"] for d in repo.devices("m-a")] == [first.device_id]
    moved = members.add_device("m-b", device)
    assert moved.device_id == first.device_id
    assert repo.devices("m-a") == [] and repo.device_owner(first.device_id) == "m-b"
    members.remove_device("m-b", moved.device_id)
    assert repo.devices("m-b") == [] and repo.device_owner(first.device_id) is None
