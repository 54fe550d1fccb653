"""What the node measures, for Prometheus (`GET /metrics`; names and meanings:
docs/observability.md#metrics).

The server's parts record through a `Metrics` object handed to them at start-up
(`metrics.message_in("move")`): `recorder.py` holds the interface, which records nothing,
and the closed sets label values come from; `prometheus.py` the recorder that records,
on a registry of its own, with the MongoDB command listener. Every label value comes from
a closed set: message types of the protocol (anything else is `unknown`), error codes,
ledger transaction types, game ids, MongoDB command names (others are `other`) and the
node id. No wallet, IP, token or room id is a label.
"""

from clubpengu.metrics.prometheus import CONTENT_TYPE, PrometheusMetrics, make_metrics
from clubpengu.metrics.recorder import MESSAGE_TYPES, UNKNOWN, Metrics, frame_type

__all__ = [
    "CONTENT_TYPE",
    "MESSAGE_TYPES",
    "UNKNOWN",
    "Metrics",
    "PrometheusMetrics",
    "frame_type",
    "make_metrics",
]
