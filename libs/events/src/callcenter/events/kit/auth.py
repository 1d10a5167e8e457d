"""Bearer JWT authentication: who calls (subject), for which tenant, with which roles."""

import argparse
import os
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import State

from .problems import ProblemError
from .revocations import Revocations

ISSUER = "callcenter"
ALGORITHM = "HS256"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    INTEGRATOR = "integrator"


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant: str
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        return role in self.roles


def _unauthorized(detail: str, challenge: str = "Bearer") -> ProblemError:
    return ProblemError(401, "Unauthorized", detail, headers={"WWW-Authenticate": challenge})


def issue_token(
    key: str,
    *,
    subject: str,
    tenant: str,
    roles: Iterable[Role],
    ttl_seconds: int = 3600,
    now: datetime | None = None,
    audience: str | None = None,
) -> str:
    role_names = sorted(Role(role).value for role in roles)
    if not role_names:
        raise ValueError("a token needs at least one role")
    issued = now or datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "tenant": tenant,
        "roles": role_names,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": uuid.uuid4().hex,  # what a revocation names
    }
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify_token(key: str, token: str, audience: str | None = None) -> Principal:
    """The token's principal: signature (HS256 only), issuer, expiry, tenant and roles;
    with ``audience``, the token must name it in ``aud``. Without, a token carrying an
    ``aud`` is refused (it was meant for another audience)."""
    invalid = 'Bearer error="invalid_token"'
    required = ["iss", "sub", "iat", "exp"] + (["aud"] if audience else [])
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=audience,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The bearer token has expired", invalid) from None
    except jwt.InvalidTokenError as exc:
        raise _unauthorized(f"Invalid bearer token: {exc}", invalid) from None
    tenant, roles = claims.get("tenant"), claims.get("roles")
    if not isinstance(tenant, str) or not tenant:
        raise _unauthorized("The bearer token has no tenant", invalid)
    known = [role.value for role in Role]
    if not (isinstance(roles, list) and roles and all(role in known for role in roles)):
        raise _unauthorized(f"The bearer token roles must be a non-empty list of {known}", invalid)
    return Principal(subject=claims["sub"], tenant=tenant, roles=frozenset(map(Role, roles)))


def signing_key(key: str | None, key_file: Path) -> str:
    """``key`` if given, else the content of ``key_file``, generated at first run."""
    if key:
        return key
    if not key_file.exists():
        _create_key_file(key_file)
    stored = key_file.read_text().strip()
    if not stored:
        raise ValueError(f"{key_file} holds no signing key")  # an empty key would sign anything
    return stored


def _create_key_file(key_file: Path) -> None:
    # Written aside then hard-linked into place: services started together all
    # read the same complete key, whichever wins the race.
    key_file.parent.mkdir(parents=True, exist_ok=True)
    draft = key_file.with_name(f".{key_file.name}.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(48))
    try:
        os.link(draft, key_file)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


# Declares the scheme in OpenAPI (the "Authorize" button of /docs); we answer the errors.
bearer_scheme = HTTPBearer(auto_error=False, description="A JWT from callcenter-token")


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    expires: float
    token_id: str | None  # tokens issued before revocation lists carry none
    issued_at: float


class VerifiedTokens:
    """Bearer tokens verified once: a client sends the same token with every
    request, and checking its signature was a tenth of an IVR call's cost. The
    expiry and the revocation list are still checked on every use."""

    def __init__(
        self,
        key: str,
        size: int = 4096,
        audience: str | None = None,
        revocations: Revocations | None = None,
    ) -> None:
        self.key = key
        self.audience = audience
        self.revocations = revocations
        self.size = size
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    def principal(self, token: str) -> Principal:
        verified = self._verified.get(token)
        if verified is None or time.time() >= verified.expires:
            verified = self._verify(token)  # 401 problems, an expired token's too
        if self.revocations is not None and self.revocations.is_revoked(
            verified.principal.tenant,
            verified.principal.subject,
            verified.token_id,
            verified.issued_at,
        ):
            raise _unauthorized("The bearer token has been revoked", 'Bearer error="invalid_token"')
        return verified.principal

    def _verify(self, token: str) -> _Verified:
        principal = verify_token(self.key, token, self.audience)
        claims = jwt.decode(token, options={"verify_signature": False})
        verified = _Verified(principal, float(claims["exp"]), claims.get("jti"), claims["iat"])
        self._verified[token] = verified
        if len(self._verified) > self.size:
            self._verified.popitem(last=False)
        return verified


def verified_tokens(state: State) -> VerifiedTokens:
    """An app's verified tokens, for its key (``app.state.signing_key``), audience
    (``app.state.jwt_audience``) and revocation list (``app.state.revocations``)."""
    audience = getattr(state, "jwt_audience", None)
    revocations = getattr(state, "revocations", None)
    tokens = getattr(state, "tokens", None)
    if (
        tokens is None
        or tokens.key != state.signing_key
        or tokens.audience != audience
        or tokens.revocations is not revocations
    ):
        tokens = state.tokens = VerifiedTokens(
            state.signing_key, audience=audience, revocations=revocations
        )
    return tokens


def principal_of(request: Request, token: str | None) -> Principal:
    """The principal of a token checked with the app's key, audience and revocation
    list; no token is a 401 too."""
    if token is None or not token.strip():
        raise _unauthorized("A bearer token is required")
    return verified_tokens(request.app.state).principal(token.strip())


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def _authenticated(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None or not credentials.credentials.strip():
        raise _unauthorized("A bearer token is required (Authorization: Bearer <token>)")
    return principal_of(request, credentials.credentials.strip())


async def authenticate(request: Request, credentials: Credentials) -> Principal:
    """Dependency: the principal of the ``Authorization: Bearer`` token."""
    return _authenticated(request, credentials)


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require_roles(*roles: Role) -> Callable[[Request, Credentials], Awaitable[Principal]]:
    """Dependency factory: the principal, if it has any of ``roles`` (no role implies another).

    It authenticates itself rather than through ``authenticate``: each dependency
    level costs FastAPI tens of microseconds per request."""
    if not roles:
        raise ValueError("require_roles needs at least one role")

    async def dependency(request: Request, credentials: Credentials) -> Principal:
        principal = _authenticated(request, credentials)
        if principal.roles.isdisjoint(roles):
            needed = " or ".join(role.value for role in roles)
            raise ProblemError(403, "Forbidden", f"role {needed} required")
        return principal

    return dependency


def _default_key_file() -> Path:
    """Where services look too (``ServiceSettings.resolved_signing_key_file``)."""
    if key_file := os.environ.get("CALLCENTER_SIGNING_KEY_FILE"):
        return Path(key_file)
    return Path(os.environ.get("CALLCENTER_DATA_DIR", "var")) / "dev-signing-key"


def token_command(argv: list[str] | None = None) -> None:
    """``callcenter-token``: print a bearer token signed with the (dev) signing key."""
    parser = argparse.ArgumentParser(
        prog="callcenter-token", description="Print a bearer token signed with the signing key."
    )
    parser.add_argument("--tenant", required=True)
    parser.add_argument(
        "--role", required=True, action="append", choices=[role.value for role in Role]
    )
    parser.add_argument("--subject", default="dev")
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    parser.add_argument(
        "--audience",
        default=os.environ.get("CALLCENTER_JWT_AUDIENCE") or None,
        help="the aud claim (services with CALLCENTER_JWT_AUDIENCE set require it)",
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        default=_default_key_file(),
        help="used when CALLCENTER_SIGNING_KEY is not set; generated if missing",
    )
    args = parser.parse_args(argv)
    key = signing_key(os.environ.get("CALLCENTER_SIGNING_KEY"), args.key_file)
    roles = [Role(role) for role in args.role]
    token = issue_token(
        key,
        subject=args.subject,
        tenant=args.tenant,
        roles=roles,
        ttl_seconds=args.ttl,
        audience=args.audience,
    )
    print(token)
