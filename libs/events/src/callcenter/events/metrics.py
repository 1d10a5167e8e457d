"""Prometheus metrics of the event backbone (exposed by every service's /metrics)."""

from prometheus_client import Counter

RELAY_PUBLISHED = Counter(
    "callcenter_relay_published_events_total", "Events the relay published", ["topic"]
)
RELAY_ERRORS = Counter(
    "callcenter_relay_errors_total", "Relay publish attempts that failed", ["topic"]
)
RELAY_LOG_LOSSES = Counter(
    "callcenter_relay_log_losses_total",
    "Times the relay found the broker had lost its log and republished",
    ["topic"],
)
CONSUMED = Counter(
    "callcenter_consumer_events_total",
    "Messages a consumer handled, by outcome",
    ["consumer", "outcome"],
)
