from pydantic_settings import SettingsConfigDict

from callcenter.events.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_IVR_", extra="ignore")

    service: str = "ivr"
    port: int = 8002
