from sqlalchemy import Column, MetaData, String, Table, Text

metadata = MetaData()

# A tenant's KPI settings (KpiSettings as JSON). Consumed events are kept in the
# backbone's ``events`` table (``store.keep``): the fold is rebuilt from it.
kpi_settings = Table(
    "analytics_kpi_settings",
    metadata,
    Column("tenant", String(100), primary_key=True),
    Column("settings", Text, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", String(40), nullable=False),
)

__all__ = ["kpi_settings", "metadata"]
