from pydantic_settings import SettingsConfigDict

from callcenter.events.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_CRM_", extra="ignore")

    service: str = "crm"
    port: int = 8003
