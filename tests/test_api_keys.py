"""API keys (stored hashed, shown once, audited), the CLI's `keys` commands, the sign-in throttle."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from actors.audit import AuditLog
from cluster.api.keys import KEY_PREFIX, KeyInputError, KeyStore, hash_key
from cluster.api.roles import Role
from cluster.api.throttle import FailureThrottle
from cluster.cli import main
from serve.errors import NotFoundError, StoreError


@pytest.fixture
def store(tmp_path: Path, audit: AuditLog) -> KeyStore:
    return KeyStore(tmp_path, audit)


def test_a_key_is_random_stored_only_as_its_hash_and_authenticates(store: KeyStore) -> None:
    key, token = store.create("desk-1", Role.OPERATOR, "admin")
    _, other = store.create("desk-2", Role.OPERATOR, "admin")
    assert token.startswith(KEY_PREFIX) and len(token) > 40 and token != other
    text = store.path.read_text()
    assert token not in text and hash_key(token) in text
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.authenticate(token) == key
    assert store.authenticate(token + "x") is None and store.authenticate("") is None


def test_names_are_unique_and_checked_and_nothing_is_stored_on_a_refusal(
    store: KeyStore, audit: AuditLog
) -> None:
    store.create("desk-1", Role.OPERATOR, "admin")
    before = (store.path.read_bytes(), audit.path.read_bytes())
    with pytest.raises(KeyInputError, match="key 'desk-1' exists"):
        store.create("desk-1", Role.ADMIN, "admin")
    with pytest.raises(KeyInputError, match="is invalid"):
        store.create("../etc", Role.ADMIN, "admin")
    with pytest.raises(NotFoundError, match="key 'nobody' does not exist"):
        store.revoke("nobody", "admin")
    assert (store.path.read_bytes(), audit.path.read_bytes()) == before


def test_revoking_a_key_stops_it_and_every_change_is_audited(store: KeyStore, audit: AuditLog) -> None:
    _, token = store.create("desk-1", Role.OPERATOR, "admin-a")
    store.revoke("desk-1", "admin-b")
    assert store.authenticate(token) is None and store.list() == []
    assert [(e.actor, e.action, e.target, dict(e.details)) for e in audit.entries()] == [
        ("admin-a", "key.create", "desk-1", {"role": "operator"}),
        ("admin-b", "key.revoke", "desk-1", {"role": "operator"}),
    ]
    audit.verify()


def test_a_key_change_that_cannot_be_audited_does_not_stand(
    store: KeyStore, audit: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise StoreError("disk full")

    monkeypatch.setattr(audit, "append", broken)
    with pytest.raises(StoreError):
        store.create("desk-1", Role.OPERATOR, "admin")
    assert not store.path.exists()


def test_a_damaged_key_file_is_an_error_naming_it(store: KeyStore) -> None:
    store.path.write_text('{"keys": [{"name": "x"}]}')
    with pytest.raises(StoreError, match=r"api-keys\.json"):
        store.authenticate("anything")


def test_cli_keys_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--data-dir", str(tmp_path), "--actor", "admin-cli"]
    assert main([*base, "keys", "create", "--name", "desk-1", "--role", "operator"]) == 0
    token = capsys.readouterr().out.splitlines()[-1]
    store = KeyStore(tmp_path, AuditLog(tmp_path / "audit.jsonl"))
    assert store.authenticate(token) is not None
    assert main([*base, "keys", "list", "--json"]) == 0
    [listed] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed["name"] == "desk-1" and listed["role"] == "operator" and listed["created_by"] == "admin-cli"
    assert token not in json.dumps(listed)
    assert main([*base, "keys", "revoke", "desk-1"]) == 0
    assert store.authenticate(token) is None
    assert main([*base, "keys", "revoke", "desk-1"]) == 1
    assert "safecity: error: key 'desk-1' does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "keys", "create", "--name", "x", "--role", "chief"])


def test_the_throttle_allows_max_failures_per_window_per_address() -> None:
    now = [0.0]
    throttle = FailureThrottle(2, 10.0, clock=lambda: now[0])
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") is None
    now[0] = 4.0
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == pytest.approx(6.0)
    assert throttle.retry_after("10.0.0.2") is None  # another address is not held back
    now[0] = 10.5  # the first failure has left the window
    assert throttle.retry_after("10.0.0.1") is None
    now[0] = 14.5
    assert throttle.retry_after("10.0.0.1") is None and throttle._failures == {}
