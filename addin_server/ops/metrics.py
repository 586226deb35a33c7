"""Prometheus metrics for one app: queue depth, batch sizes, generation seconds, images, errors by kind.

Each app has its own registry, so several apps in one process (tests) never clash.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from engine.api import BatchReport

BATCH_IMAGES_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
BATCH_SECONDS_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)


class Metrics:
    """The server's counters; the engine reports each batch, the job service each finished job."""

    content_type = "text/plain; version=0.0.4; charset=utf-8"

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queue_depth = Gauge("addin_queue_depth", "Jobs waiting for the engine", registry=self.registry)
        self.batch_images = Histogram(
            "addin_batch_images",
            "Images per pipeline call",
            ["model"],
            buckets=BATCH_IMAGES_BUCKETS,
            registry=self.registry,
        )
        self.generation_seconds = Histogram(
            "addin_generation_seconds",
            "Seconds per pipeline call",
            ["model"],
            buckets=BATCH_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.images = Counter("addin_images_generated", "Images generated", ["model"], registry=self.registry)
        self.jobs = Counter("addin_jobs_finished", "Jobs finished, by final state", ["state"], registry=self.registry)
        self.errors = Counter("addin_errors", "Errors by kind", ["kind"], registry=self.registry)
        self.workers = Gauge("addin_workers_alive", "Engine workers alive (scaled out)", registry=self.registry)
        self.worker_batch_images = Histogram(
            "addin_worker_batch_images",
            "Images per pipeline call, by worker (scaled out)",
            ["worker"],
            buckets=BATCH_IMAGES_BUCKETS,
            registry=self.registry,
        )
        self.worker_batch_seconds = Histogram(
            "addin_worker_batch_seconds",
            "Seconds per pipeline call, by worker (scaled out)",
            ["worker"],
            buckets=BATCH_SECONDS_BUCKETS,
            registry=self.registry,
        )

    def watch_queue(self, depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(depth)

    def watch_workers(self, alive: Callable[[], int]) -> None:
        self.workers.set_function(alive)

    def observe_batch(self, report: BatchReport) -> None:
        """Called by the engine after each pipeline call."""
        if report.worker:
            self.worker_batch_images.labels(report.worker).observe(report.images)
            self.worker_batch_seconds.labels(report.worker).observe(report.seconds)
        self.batch_images.labels(report.model).observe(report.images)
        self.generation_seconds.labels(report.model).observe(report.seconds)
        if report.outcome == "succeeded":
            self.images.labels(report.model).inc(report.images)
        elif report.outcome != "cancelled":
            self.errors.labels(report.outcome).inc()

    def count_error(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
