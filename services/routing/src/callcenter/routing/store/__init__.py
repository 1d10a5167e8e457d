"""Routing's own tables beside the event store: snapshots and the inbox."""
