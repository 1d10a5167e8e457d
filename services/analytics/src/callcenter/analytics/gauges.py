"""Prometheus gauges of the live values (each service's ``/metrics``), read at scrape time."""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from callcenter.analytics.live import snapshot
from callcenter.analytics.service import Analytics

_LIVE: weakref.WeakSet[Analytics] = weakref.WeakSet()
SUPERVISOR_MODES = ("monitor", "whisper", "barge", "takeover")


def expose(analytics: Analytics) -> None:
    _LIVE.add(analytics)


class LiveGauges(Collector):
    def collect(self) -> Iterator[Metric]:
        queue_labels = ["tenant", "queue"]
        waiting = GaugeMetricFamily(
            "callcenter_queue_calls_waiting",
            "Callers waiting in the queue now",
            labels=queue_labels,
        )
        longest = GaugeMetricFamily(
            "callcenter_queue_longest_wait_seconds", "The longest current wait", labels=queue_labels
        )
        level = GaugeMetricFamily(
            "callcenter_queue_service_level_today", "Service level so far today (0-1)",
            labels=queue_labels,
        )  # fmt: skip
        offered = GaugeMetricFamily(
            "callcenter_queue_offered_today", "Calls offered so far today", labels=queue_labels
        )
        agents = GaugeMetricFamily(
            "callcenter_agents", "Agents logged in, by state", labels=["tenant", "state"]
        )
        abandon = GaugeMetricFamily(
            "callcenter_campaign_outbound_abandon_rate_today",
            "Abandoned outbound calls / live answers so far today (0-1; the regulator's cap)",
            labels=["tenant", "campaign"],
        )
        supervised = GaugeMetricFamily(
            "callcenter_calls_supervised",
            "Calls with a supervisor on them now, by mode",
            labels=["tenant", "mode"],
        )
        for analytics in list(_LIVE):
            now = analytics.clock()
            for name, tenant in list(analytics.fold.tenants.items()):
                view = snapshot(tenant, analytics.settings_of(name), now)
                for queue in view["queues"]:
                    labels = [name, queue["queue_id"]]
                    waiting.add_metric(labels, queue["waiting"])
                    longest.add_metric(labels, queue["longest_wait_seconds"])
                    offered.add_metric(labels, queue["offered"])
                    if queue["service_level"] is not None:
                        level.add_metric(labels, queue["service_level"])
                for state, count in view["agents"].items():
                    agents.add_metric([name, state], count)
                for campaign in view["campaigns"]:
                    if campaign["outbound_abandon_rate"] is not None:
                        abandon.add_metric(
                            [name, campaign["campaign_id"]], campaign["outbound_abandon_rate"]
                        )
                modes = Counter(item["mode"] for item in view["supervised"])
                for mode in SUPERVISOR_MODES:
                    supervised.add_metric([name, mode], modes.get(mode, 0))
        yield from (waiting, longest, level, offered, agents, abandon, supervised)


REGISTRY.register(LiveGauges())
