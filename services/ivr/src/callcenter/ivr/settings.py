from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from callcenter.events.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_IVR_", extra="ignore")

    service: str = "ivr"
    port: int = 8002
    # The base URL Twilio calls (behind a proxy or tunnel), for signature checks;
    # unset: the URL of the request as it arrived.
    public_url: str | None = None
    # Refuse Twilio's inbound webhooks (voice, gather, status...) for tenants with no
    # Twilio auth token to check them with. Off by default: development and tests drive
    # the Twilio edge unsigned; a production deployment turns it on.
    require_twilio_signatures: bool = False
    # Tenants' Twilio auth tokens and callback secrets are stored sealed with a key
    # derived from this secret (CALLCENTER_IVR_SECRETS_KEY or the file
    # CALLCENTER_IVR_SECRETS_KEY_FILE; else generated at first run in the data dir).
    secrets_key: SecretStr | None = None
    secrets_key_file: Path | None = None
    # The demo flow is installed for this tenant on this number at start-up when
    # the tenant has no such flow yet (`make run`); empty disables it.
    demo_tenant: str = "demo"
    demo_number: str = "+15550100"
    # Status callbacks to the provider, outbound legs and survey legs placed (off in
    # tests that drive the sender, the dialer and the surveys themselves).
    deliver_webhooks: bool = True
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    # How long a number's binding is remembered (a rebind on another replica
    # takes effect within this; on this one at once).
    binding_cache_seconds: float = Field(default=5.0, ge=0)
    # A call the provider never reported ending is ended (CallHungUp by system,
    # reason "max_age") this long after it started; the reaper looks this often.
    call_max_age_seconds: float = Field(default=4 * 3600, gt=0)
    reaper_interval_seconds: float = Field(default=30.0, gt=0)
    # Idempotency-Keys are kept this long (providers retry within minutes).
    idempotency_key_seconds: float = Field(default=24 * 3600, gt=0)
    # Played to callers on hold when their queue's enqueue node names no music
    # (Twilio's own classical hold music).
    hold_music: str = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
    # Twilio's REST API (outbound legs: "create call"); a test points it at a mock.
    twilio_api_url: str = "https://api.twilio.com"
    # An outbound leg the provider never reported fails this long after its ringing time.
    outbound_report_grace_seconds: float = Field(default=300.0, gt=0)

    def resolved_secrets_key_file(self) -> Path:
        return self.secrets_key_file or self.data_dir / "ivr-secrets-key"
