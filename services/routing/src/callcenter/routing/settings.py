from pydantic import Field
from pydantic_settings import SettingsConfigDict

from callcenter.events.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_ROUTING_", extra="ignore")

    service: str = "routing"
    port: int = 8001
    # Start-up loads each tenant's latest snapshot, then the events after it.
    snapshot_every: int = Field(default=1000, ge=1)
