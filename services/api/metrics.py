"""Prometheus metrics of the HTTP API, in a registry owned by each application (no globals)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.responses import Response

# Requests matching no route share one label: raw paths would make the series unbounded.
UNMATCHED_ROUTE = "<unmatched>"


class HttpMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("method", "route", "status")
        self.requests = Counter(
            "maillon_http_requests",
            "Requêtes HTTP traitées.",
            labels,
            registry=self.registry,
        )
        self.duration = Histogram(
            "maillon_http_request_duration_seconds",
            "Durée de traitement des requêtes HTTP.",
            labels,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "maillon_http_requests_in_progress",
            "Requêtes HTTP en cours.",
            ("method",),
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route, str(status)).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    http_metrics: HttpMetrics = request.app.state.metrics
    return Response(http_metrics.render(), media_type=CONTENT_TYPE_LATEST)
