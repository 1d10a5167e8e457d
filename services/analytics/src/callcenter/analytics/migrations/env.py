from callcenter.events import store
from callcenter.events.kit.migrations import run_env

run_env(store.metadata)
