from pydantic_settings import SettingsConfigDict

from callcenter.events.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_WORKORDERS_", extra="ignore")

    service: str = "workorders"
    port: int = 8004
