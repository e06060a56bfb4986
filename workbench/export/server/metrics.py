"""The server's Prometheus metrics, in a registry of their own so several servers share a process safely.

workbench_serving_requests_total{model,version,code}     requests answered, by HTTP status
workbench_serving_request_seconds{model}                 latency histogram
workbench_serving_batch_rows{model,version}              rows per program call, before padding
workbench_serving_program_calls_total{model,version,signature,batch_size}
                                                         program calls by the batch size the program saw
workbench_serving_loaded_versions{model}                 versions loaded and serving
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServerMetrics:
    """Counters, histograms and gauges of one server; `render()` gives the /metrics text."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, batch_sizes: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "workbench_serving_requests",
            "Requests answered, by model, version and HTTP status code.",
            ["model", "version", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "workbench_serving_request_seconds",
            "Time from a request's arrival to its answer.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "workbench_serving_batch_rows",
            "Rows in one program call, before padding.",
            ["model", "version"],
            buckets=tuple(float(s) for s in batch_sizes),
            registry=self.registry,
        )
        self.program_calls = Counter(
            "workbench_serving_program_calls",
            "Program calls, by the batch size the program saw (after padding).",
            ["model", "version", "signature", "batch_size"],
            registry=self.registry,
        )
        self.loaded = Gauge(
            "workbench_serving_loaded_versions",
            "Versions loaded and serving, per model.",
            ["model"],
            registry=self.registry,
        )

    def request(self, model: str, version: str, code: int, seconds: float) -> None:
        self.requests.labels(model, version, str(code)).inc()
        self.latency.labels(model).observe(seconds)

    def program_call(self, model: str, version: int, signature: str, rows: int, size: int) -> None:
        self.batch_rows.labels(model, str(version)).observe(rows)
        self.program_calls.labels(model, str(version), signature, str(size)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
