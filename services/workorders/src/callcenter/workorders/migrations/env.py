from sqlalchemy import MetaData

from callcenter.events import store
from callcenter.events.kit.migrations import run_env
from callcenter.workorders.store.tables import metadata as workorders_metadata

target = MetaData()
for table in (*store.metadata.tables.values(), *workorders_metadata.tables.values()):
    table.to_metadata(target)
run_env(target)
