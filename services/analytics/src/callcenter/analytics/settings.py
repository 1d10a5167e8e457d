from pydantic_settings import SettingsConfigDict

from callcenter.events.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_ANALYTICS_", extra="ignore")

    service: str = "analytics"
    port: int = 8005
