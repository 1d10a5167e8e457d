from pydantic import Field
from pydantic_settings import SettingsConfigDict

from callcenter.events.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_ROUTING_", extra="ignore")

    service: str = "routing"
    port: int = 8001
    # Start-up loads each tenant's latest snapshot, then the events after it.
    snapshot_every: int = Field(default=1000, ge=1)
    # Contact lists (5 MB, 50,000 rows, checked by the upload) and the do-not-call list
    # (100,000 numbers) are larger than the kit's 1 MiB body limit.
    upload_body_limits: dict[str, int] = Field(
        default_factory=lambda: {
            r"/v1/campaigns/[^/]+/contacts": 6 * 1024 * 1024,
            r"/v1/dnc": 4 * 1024 * 1024,
        }
    )
    # Where the agent console (served at /console) finds the other services' APIs, as
    # the browser sees them; each must list this service's origin in its CORS origins.
    console_ivr_url: str = "http://127.0.0.1:8002"
    console_crm_url: str = "http://127.0.0.1:8003"
    console_workorders_url: str = "http://127.0.0.1:8004"
    console_analytics_url: str = "http://127.0.0.1:8005"
