"""Tenants' telephony secrets (Twilio auth token, status-callback secret) at rest:
sealed with the IVR's secrets key (AES-256-GCM, bound to the tenant and the column),
never stored in clear.

The key travels with the database's engine (an execution option), so every reader
of a tenant's telephony settings (webhooks, outbound legs, callbacks) opens them
without being handed the key.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events.db import Database
from callcenter.events.kit import sealing
from callcenter.events.kit.auth import signing_key
from callcenter.ivr.settings import Settings

SEALED = "sealed:"  # what marks a sealed value from one written in clear before 0010
SECRET_COLUMNS = ("twilio_auth_token", "status_callback_secret")
_KEY_OPTION = "callcenter_ivr_secrets_key"


def secrets_key(settings: Settings) -> bytes:
    """The key of the settings' secret, or key file (generated at first run)."""
    given = settings.secrets_key.get_secret_value() if settings.secrets_key else None
    secret = signing_key(given, settings.resolved_secrets_key_file())
    return sealing.derive_key(secret, "callcenter-ivr telephony secrets")


def seal(key: bytes, tenant: str, column: str, value: str | None) -> str | None:
    if value is None:
        return None
    return SEALED + sealing.seal(key, value.encode(), _context(tenant, column))


def unseal(key: bytes, tenant: str, column: str, stored: str | None) -> str | None:
    if stored is None or not stored.startswith(SEALED):
        return stored
    return sealing.unseal(key, stored.removeprefix(SEALED), _context(tenant, column)).decode()


def _context(tenant: str, column: str) -> bytes:
    # A sealed value copied to another tenant's row or column does not open.
    return f"{tenant}\x00{column}".encode()


def bind_key(db: Database, key: bytes) -> None:
    db.engine.update_execution_options(**{_KEY_OPTION: key})


def seal_on(conn: AsyncConnection, tenant: str, column: str, value: str | None) -> str | None:
    """``seal`` with the key of the connection's database."""
    return None if value is None else seal(_key_of(conn), tenant, column, value)


def unseal_on(conn: AsyncConnection, tenant: str, column: str, stored: str | None) -> str | None:
    """``unseal`` with the key of the connection's database."""
    return None if stored is None else unseal(_key_of(conn), tenant, column, stored)


def _key_of(conn: AsyncConnection) -> bytes:
    key = conn.sync_connection.get_execution_options().get(_KEY_OPTION)
    if key is None:
        raise RuntimeError("the IVR's database has no secrets key (telephony_secrets.bind_key)")
    return key
