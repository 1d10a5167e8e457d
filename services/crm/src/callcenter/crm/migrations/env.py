from sqlalchemy import MetaData

from callcenter.crm.store.tables import metadata as crm_metadata
from callcenter.events import store
from callcenter.events.kit.migrations import run_env

target = MetaData()
for table in (*store.metadata.tables.values(), *crm_metadata.tables.values()):
    table.to_metadata(target)
run_env(target)
