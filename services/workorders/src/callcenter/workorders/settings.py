from pydantic_settings import SettingsConfigDict

from callcenter.events.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_WORKORDERS_", extra="ignore")

    service: str = "workorders"
    port: int = 8004
    # How often the timer loop looks for due SLA deadlines.
    tick_seconds: float = 1.0
    # Tickets opened from other services' events, unless a tenant's rule says
    # otherwise: which type (empty: no ticket).
    voicemail_ticket_type: str = "inquiry"
    failed_callback_ticket_type: str = "inquiry"
    abandoned_call_ticket_type: str = "complaint"
    # A call dispositioned with follow_up: the type of the ticket it opens when the
    # tenant's rules map neither its disposition nor the follow_up trigger.
    follow_up_ticket_type: str = "inquiry"
