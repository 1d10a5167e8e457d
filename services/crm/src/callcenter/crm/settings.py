from pydantic import Field
from pydantic_settings import SettingsConfigDict

from callcenter.events.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_CRM_", extra="ignore")

    service: str = "crm"
    port: int = 8003
    # Region used to read national phone numbers ("06 28 ...") when a tenant has none of its own.
    default_region: str = "FR"
    # Per-tenant regions, e.g. {"acme-uk": "GB"}.
    tenant_regions: dict[str, str] = Field(default_factory=dict)
    # The knowledge base's demo articles are loaded for this tenant at start-up
    # (once; `make run`'s demo). Empty: none.
    demo_tenant: str = "demo"

    def region_for(self, tenant: str) -> str:
        return self.tenant_regions.get(tenant, self.default_region)
