import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI

from callcenter.events.kit.auth import (
    Principal,
    PrincipalDep,
    Role,
    VerifiedTokens,
    issue_token,
    require_roles,
    signing_key,
    token_command,
    verify_token,
)
from callcenter.events.kit.problems import ProblemError, install_problem_handlers

KEY = "k" * 48


def make_app() -> FastAPI:
    app = FastAPI()
    app.state.signing_key = KEY
    install_problem_handlers(app)

    @app.get("/whoami")
    async def whoami(principal: PrincipalDep) -> dict[str, str]:
        return {"subject": principal.subject, "tenant": principal.tenant}

    @app.get("/queues")
    async def queues(
        principal: Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))],
    ) -> list[str]:
        return sorted(principal.roles)

    return app


def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=make_app())
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_issued_token_verifies_to_its_principal() -> None:
    token = issue_token(KEY, subject="alice", tenant="acme", roles=[Role.AGENT, Role.SUPERVISOR])

    principal = verify_token(KEY, token)

    assert principal == Principal("alice", "acme", frozenset({Role.AGENT, Role.SUPERVISOR}))
    assert principal.has(Role.AGENT) and not principal.has(Role.ADMIN)


@pytest.mark.parametrize(
    ("token", "detail"),
    [
        (
            issue_token(
                KEY,
                subject="alice",
                tenant="acme",
                roles=[Role.AGENT],
                now=datetime.now(UTC) - timedelta(hours=2),
            ),
            "The bearer token has expired",
        ),
        (
            issue_token("f" * 48, subject="alice", tenant="acme", roles=[Role.AGENT]),
            "Invalid bearer token: Signature verification failed",
        ),
        ("not-a-jwt", "Invalid bearer token"),
        (
            jwt.encode({"iss": "callcenter", "sub": "a", "iat": 0, "exp": 2**40}, KEY, "HS256"),
            "The bearer token has no tenant",
        ),
        (
            jwt.encode(
                {"iss": "callcenter", "sub": "a", "iat": 0, "exp": 2**40}
                | {"tenant": "acme", "roles": ["root"]},
                KEY,
                "HS256",
            ),
            "The bearer token roles must be a non-empty list of "
            "['agent', 'supervisor', 'admin', 'integrator']",
        ),
    ],
    ids=["expired", "forged", "malformed", "no-tenant", "unknown-role"],
)
def test_bad_tokens_are_rejected(token: str, detail: str) -> None:
    with pytest.raises(ProblemError) as raised:
        verify_token(KEY, token)

    assert raised.value.status == 401
    assert raised.value.detail.startswith(detail)
    assert raised.value.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}


@pytest.mark.asyncio
@pytest.mark.parametrize("authorization", [None, "Basic YWxpY2U6cHc=", "Bearer "])
async def test_missing_bearer_token_is_401_with_challenge(authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with client() as http:
        response = await http.get("/whoami", headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.asyncio
async def test_expired_token_is_401_problem() -> None:
    token = issue_token(KEY, subject="a", tenant="acme", roles=[Role.AGENT], ttl_seconds=-1)
    async with client() as http:
        response = await http.get("/whoami", headers=bearer(token))

    assert response.status_code == 401
    assert response.json()["detail"] == "The bearer token has expired"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.asyncio
async def test_valid_token_reaches_the_endpoint() -> None:
    token = issue_token(KEY, subject="alice", tenant="acme", roles=[Role.AGENT])
    async with client() as http:
        response = await http.get("/whoami", headers=bearer(token))

    assert response.status_code == 200
    assert response.json() == {"subject": "alice", "tenant": "acme"}


@pytest.mark.asyncio
async def test_any_listed_role_passes_and_others_get_403() -> None:
    agent = issue_token(KEY, subject="a", tenant="acme", roles=[Role.AGENT])
    admin = issue_token(KEY, subject="b", tenant="acme", roles=[Role.ADMIN])
    async with client() as http:
        denied = await http.get("/queues", headers=bearer(agent))
        allowed = await http.get("/queues", headers=bearer(admin))

    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"
    assert denied.json()["detail"] == "role supervisor or admin required"
    assert allowed.status_code == 200
    assert allowed.json() == ["admin"]


def test_signing_key_is_generated_once_with_private_mode(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "dev-signing-key"

    first = signing_key(None, key_file)

    assert len(first) >= 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert signing_key(None, key_file) == first
    assert signing_key("explicit", key_file) == "explicit"
    assert list(key_file.parent.iterdir()) == [key_file]


def test_an_empty_key_file_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "dev-signing-key"
    key_file.write_text("\n")

    with pytest.raises(ValueError, match="holds no signing key"):
        signing_key(None, key_file)


def test_token_command_prints_a_token_that_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CALLCENTER_SIGNING_KEY", raising=False)
    key_file = tmp_path / "keys" / "dev-signing-key"

    token_command(
        ["--tenant", "acme", "--role", "agent", "--role", "supervisor", "--key-file", str(key_file)]
    )

    token = capsys.readouterr().out.strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    principal = verify_token(key_file.read_text(), token)
    assert principal == Principal("dev", "acme", frozenset({Role.AGENT, Role.SUPERVISOR}))
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 8 * 3600


def test_token_command_honours_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLCENTER_SIGNING_KEY", KEY)
    monkeypatch.setenv("CALLCENTER_SIGNING_KEY_FILE", str(tmp_path / "unused"))

    token_command(["--tenant", "acme", "--role", "admin", "--subject", "ops", "--ttl", "60"])

    principal = verify_token(KEY, capsys.readouterr().out.strip())
    assert principal == Principal("ops", "acme", frozenset({Role.ADMIN}))
    assert not (tmp_path / "unused").exists()


def test_token_command_defaults_to_the_dev_key_file_under_var(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CALLCENTER_SIGNING_KEY", "CALLCENTER_SIGNING_KEY_FILE", "CALLCENTER_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    token_command(["--tenant", "acme", "--role", "integrator"])

    key = (tmp_path / "var" / "dev-signing-key").read_text()
    assert verify_token(key, capsys.readouterr().out.strip()).roles == {Role.INTEGRATOR}


def test_token_command_rejects_unknown_roles(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        token_command(["--tenant", "acme", "--role", "root"])

    assert "invalid choice: 'root'" in capsys.readouterr().err


def test_a_remembered_token_still_expires():
    tokens = VerifiedTokens(KEY)
    token = issue_token(KEY, subject="ann", tenant="acme", roles=[Role.ADMIN], ttl_seconds=1)
    assert tokens.principal(token).tenant == "acme"
    assert tokens.principal(token) is tokens.principal(token)  # remembered
    time.sleep(1.1)
    with pytest.raises(ProblemError) as refused:
        tokens.principal(token)
    assert refused.value.status == 401


def test_a_token_signed_with_another_key_is_refused_every_time():
    tokens = VerifiedTokens(KEY)
    forged = issue_token("another-key-of-32-bytes-or-more!!", subject="m", tenant="acme",
                         roles=[Role.ADMIN])  # fmt: skip
    for _ in range(2):
        with pytest.raises(ProblemError):
            tokens.principal(forged)
