from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

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

# Exam scores supervisors post for agents: input of the scorecards.
exam_scores = Table(
    "analytics_exam_scores",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(100), nullable=False, index=True),
    Column("agent_id", String(100), nullable=False),
    Column("exam", String(200), nullable=False),
    Column("score", Float, nullable=False),
    Column("taken_at", String(40), nullable=False),
    Column("recorded_by", String(200), nullable=False),
)

__all__ = ["exam_scores", "kpi_settings", "metadata"]
