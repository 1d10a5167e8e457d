from sqlalchemy import MetaData

from callcenter.events import store
from callcenter.events.kit.migrations import run_env
from callcenter.routing.store.tables import metadata as routing_metadata

target = MetaData()
for table in (*store.metadata.tables.values(), *routing_metadata.tables.values()):
    table.to_metadata(target)
run_env(target)
