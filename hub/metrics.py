"""Prometheus metrics: requests by route, jobs by outcome, outbox depth and age."""

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("hub_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "hub_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOBS = Counter("hub_jobs_total", "Job runs by outcome (ok, retried, failed)", ["job", "outcome"])
OUTBOX_DEPTH = Gauge("hub_outbox_messages", "Outbox messages by status", ["status"])
OUTBOX_OLDEST_AGE = Gauge("hub_outbox_oldest_pending_seconds", "Age of the oldest undelivered outbox message")
OUTBOX_DEAD = Counter("hub_outbox_dead_total", "Outbox messages that exhausted their attempts", ["topic"])
