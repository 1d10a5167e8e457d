"""Token revocation: one mounted file lists revoked token ids and subjects; every
service refuses those tokens (401 problem+json) within a second of the file changing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from callcenter.events.kit.auth import Role, issue_token
from tests.integration.test_service_kit import KEY, make_app

RELOAD_SECONDS = 1.2  # services look at the file at most once a second


class MountedConfigMap:
    """A file as Kubernetes mounts a ConfigMap: an update swaps the ``..data`` symlink."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.path = directory / name
        self.updates = 0
        directory.mkdir()
        self.update({})
        self.path.symlink_to(Path("..data") / name)

    def update(self, content: dict | str) -> None:
        self.updates += 1
        version = self.directory / f"..version-{self.updates}"
        version.mkdir()
        text = content if isinstance(content, str) else json.dumps(content)
        (version / self.path.name).write_text(text)
        staged = self.directory / "..data_tmp"
        staged.symlink_to(version.name)
        staged.replace(self.directory / "..data")


def _token(subject: str, tenant: str = "acme", now: datetime | None = None) -> str:
    return issue_token(KEY, subject=subject, tenant=tenant, roles=[Role.SUPERVISOR], now=now)


def _jti(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["jti"]


def _get(client: TestClient, token: str, service_path: str = "/v1/queues"):
    return client.get(service_path, headers={"Authorization": f"Bearer {token}"})


def _revoked(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "revoked" in response.json()["detail"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.fixture(name="revocations")
def _revocations(monkeypatch, tmp_path) -> MountedConfigMap:
    mounted = MountedConfigMap(tmp_path / "revocations", "revocations.json")
    monkeypatch.setenv("CALLCENTER_JWT_REVOCATIONS_FILE", str(mounted.path))
    return mounted


def test_a_revoked_token_and_a_revoked_subject_are_refused_by_a_running_service(
    revocations, database_url, kafka, tmp_path
):
    a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)
    stolen, other_of_sam, kim = (_token(name, now=a_minute_ago) for name in ("sam", "sam", "kim"))
    with TestClient(make_app("routing", database_url, kafka, tmp_path)) as client:
        for token in (stolen, other_of_sam, kim):  # verified, and remembered as such
            assert _get(client, token).status_code == 200

        revocations.update({"tokens": [_jti(stolen)]})
        time.sleep(RELOAD_SECONDS)
        _revoked(_get(client, stolen))
        assert _get(client, other_of_sam).status_code == 200
        assert _get(client, kim).status_code == 200

        cutoff = a_minute_ago + timedelta(seconds=30)  # sam's tokens issued before
        entry = {"tenant": "acme", "subject": "sam", "before": cutoff.isoformat()}
        revocations.update({"tokens": [_jti(stolen)], "subjects": [entry]})
        time.sleep(RELOAD_SECONDS)
        _revoked(_get(client, other_of_sam))
        assert _get(client, kim).status_code == 200
        assert _get(client, _token("sam")).status_code == 200  # issued after the cutoff
        same_name_elsewhere = _token("sam", tenant="globex", now=a_minute_ago)
        assert _get(client, same_name_elsewhere).status_code == 200

        revocations.update("{not json")  # a bad edit keeps the last good list
        time.sleep(RELOAD_SECONDS)
        _revoked(_get(client, stolen))
        _revoked(_get(client, other_of_sam))

        revocations.update({})  # lifted
        time.sleep(RELOAD_SECONDS)
        assert _get(client, stolen).status_code == 200


def test_a_revoked_token_is_refused_on_event_streams_too(
    revocations, database_url, kafka, tmp_path
):
    token = _token("sam")
    revocations.update({"tokens": [_jti(token)]})
    with TestClient(make_app("routing", database_url, kafka, tmp_path)) as client:
        _revoked(client.get("/v1/floor/stream", params={"access_token": token}))


def test_a_service_does_not_start_on_a_malformed_list(revocations, database_url, kafka, tmp_path):
    revocations.update({"tokens": "not a list"})
    with pytest.raises(ValueError):
        make_app("routing", database_url, kafka, tmp_path)


def test_every_issued_token_has_its_own_id():
    assert _jti(_token("sam")) != _jti(_token("sam"))
