from pydantic_settings import SettingsConfigDict

from callcenter.events.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_WORKORDERS_", extra="ignore")

    service: str = "workorders"
    port: int = 8004
    # How often the timer loop looks for due SLA deadlines.
    tick_seconds: float = 1.0
    # Tickets opened from other services' events: which type (empty: none).
    voicemail_ticket_type: str = "inquiry"
    failed_callback_ticket_type: str = "inquiry"
