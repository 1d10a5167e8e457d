"""The event store and the relay's and consumers' bookkeeping tables."""

from callcenter.events.kit.migrations import create_backbone_tables as upgrade  # noqa: F401
from callcenter.events.kit.migrations import drop_backbone_tables as downgrade  # noqa: F401

revision = "0001"
down_revision = None
