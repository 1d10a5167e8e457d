"""The Kafka client's repeated complaints are throttled, not lost."""

from __future__ import annotations

import logging

from callcenter.events import bus  # noqa: F401 - installs the throttles
from callcenter.events.log_throttle import KAFKA_CLIENT_LOGGERS, RepeatThrottle


def test_the_same_complaint_passes_once_per_interval_then_says_how_many_were_dropped():
    now = [0.0]
    throttle = RepeatThrottle(interval=10, clock=lambda: now[0])

    def complaint(port: int, level: int = logging.ERROR) -> logging.LogRecord:
        text = "Unable connect to node with id %d: %s"
        return logging.LogRecord("aiokafka", level, __file__, 1, text, (111, port), None)

    first = complaint(9092)
    assert throttle.filter(first)
    assert [throttle.filter(complaint(9000 + n)) for n in range(50)] == [False] * 50
    other = logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, "Another kind", (), None)
    assert throttle.filter(other)  # another kind of complaint is not held back
    assert throttle.filter(complaint(1, logging.INFO))  # below warnings: never throttled
    now[0] = 10.5
    later = complaint(9092)
    assert throttle.filter(later)
    assert later.getMessage() == (
        "Unable connect to node with id 111: 9092 (50 more like it in the last 10 s)"
    )


def test_every_kafka_client_logger_carries_one_throttle():
    for name in KAFKA_CLIENT_LOGGERS:
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, RepeatThrottle) for f in filters) == 1, name
