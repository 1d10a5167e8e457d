from callcenter.events import store
from callcenter.events.kit.migrations import run_env
from callcenter.ivr.store import tables

# Alembic accepts a list of MetaData: the backbone's and the IVR's own tables.
run_env([store.metadata, tables.metadata])  # type: ignore[arg-type]
