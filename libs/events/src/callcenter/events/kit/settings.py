"""Settings every service shares (pydantic-settings: environment variables, 12-factor).

Per-service variables carry the service's prefix (``CALLCENTER_ROUTING_PORT``,
``CALLCENTER_ROUTING_DATABASE_URL``); what all services must agree on is
shared: ``CALLCENTER_KAFKA_BOOTSTRAP_SERVERS`` (and the other ``CALLCENTER_KAFKA_*``),
``CALLCENTER_SIGNING_KEY`` or ``CALLCENTER_SIGNING_KEY_FILE``, ``CALLCENTER_DATA_DIR``,
``CALLCENTER_JWT_*`` and ``CALLCENTER_TENANT_RATE_LIMIT*``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from callcenter.events.bus import KafkaSettings


class KafkaEnvironment(BaseSettings, KafkaSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_KAFKA_", extra="ignore")


def _shared(name: str) -> AliasChoices:
    return AliasChoices(f"CALLCENTER_{name}")


class ServiceSettings(BaseSettings):
    """Subclass per service with ``env_prefix="CALLCENTER_<SERVICE>_"`` and its defaults."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service: str
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    database_url: str = ""
    log_level: str = "INFO"
    data_dir: Path = Field(default=Path("var"), validation_alias=_shared("DATA_DIR"))
    signing_key: SecretStr | None = Field(default=None, validation_alias=_shared("SIGNING_KEY"))
    signing_key_file: Path | None = Field(
        default=None, validation_alias=_shared("SIGNING_KEY_FILE")
    )
    # Tokens must name this audience (``aud``) when set; unset, tokens carry no ``aud``.
    jwt_audience: str | None = Field(default=None, validation_alias=_shared("JWT_AUDIENCE"))
    # Revoked tokens and subjects (kit/revocations.py), one file for every service.
    jwt_revocations_file: Path | None = Field(
        default=None, validation_alias=_shared("JWT_REVOCATIONS_FILE")
    )
    kafka: KafkaSettings = Field(default_factory=KafkaEnvironment)
    # The relay and consumers can be switched off, e.g. for a read-only replica.
    run_relay: bool = True
    run_consumers: bool = True
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    # Web pages served from other origins that may call this API with a bearer token
    # (the agent console calls the CRM, work orders and analytics), as a JSON list.
    cors_origins: list[str] = Field(default_factory=list, validation_alias=_shared("CORS_ORIGINS"))
    # Load shedding: past this many requests in flight, answer 429 with Retry-After.
    max_in_flight_requests: int = Field(
        default=128, ge=1, validation_alias=_shared("MAX_IN_FLIGHT_REQUESTS")
    )

    # Requests per second each tenant (each client address, unauthenticated) may make
    # to this process, in bursts of up to ``tenant_rate_limit_burst`` (0: one second's
    # worth); past it, 429 with Retry-After. 0 switches the limit off.
    tenant_rate_limit: float = Field(default=0, ge=0, validation_alias=_shared("TENANT_RATE_LIMIT"))
    tenant_rate_limit_burst: int = Field(
        default=0, ge=0, validation_alias=_shared("TENANT_RATE_LIMIT_BURST")
    )

    # Request bodies past this are refused with 413 (per service:
    # CALLCENTER_<SERVICE>_MAX_BODY_BYTES); routes taking uploads may allow more,
    # as a full-match path pattern -> bytes.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    upload_body_limits: dict[str, int] = Field(default_factory=dict)

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / f'{self.service}.db'}"

    def resolved_signing_key_file(self) -> Path:
        return self.signing_key_file or self.data_dir / "dev-signing-key"
