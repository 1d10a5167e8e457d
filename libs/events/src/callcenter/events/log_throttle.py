"""Throttle the Kafka client's repeated complaints.

While the broker is away, aiokafka logs every failed connection, metadata refresh,
fetch and coordinator lookup, about every 100 ms per client: a 30 s outage wrote
2,000 to 6,000 ERROR lines per service (tests/chaos). The first line of a kind is
logged; the same kind (its text with the numbers blanked) is then dropped for
``interval`` seconds, and the next one that passes says how many were dropped.
"""

from __future__ import annotations

import logging
import re
import time

KAFKA_CLIENT_LOGGERS = (
    "aiokafka",  # the client: connections and metadata
    "aiokafka.conn",
    "aiokafka.cluster",
    "aiokafka.consumer.consumer",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.producer.producer",
    "aiokafka.producer.sender",
    "aiokafka.admin.client",
)
_NUMBERS = re.compile(r"\d+")
_MAX_KINDS = 1000


class RepeatThrottle(logging.Filter):
    def __init__(self, interval: float = 10.0, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._dropped: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        kind = f"{record.name}:{_NUMBERS.sub('N', message)}"
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._dropped[kind] = self._dropped.get(kind, 0) + 1
            return False
        if len(self._last) >= _MAX_KINDS:
            self._last.clear()
        self._last[kind] = now
        if dropped := self._dropped.pop(kind, 0):
            record.msg = f"{message} ({dropped} more like it in the last {self.interval:g} s)"
            record.args = ()
        return True


def throttle_kafka_client_logs(interval: float = 10.0) -> None:
    """Install one throttle on each of aiokafka's loggers (idempotent)."""
    for name in KAFKA_CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatThrottle) for f in logger.filters):
            logger.addFilter(RepeatThrottle(interval))
