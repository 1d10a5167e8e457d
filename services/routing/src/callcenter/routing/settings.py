from pydantic_settings import SettingsConfigDict

from callcenter.events.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_ROUTING_", extra="ignore")

    service: str = "routing"
    port: int = 8001
