"""The Celery app both halves of a scaled-out engine build from ENGINE_QUEUE_URL (Redis as broker).

A task says only "take the next job for this model": the job itself waits on the job board (`job_board.py`),
so the worker that runs the task picks it round-robin across users at that moment. Tasks are acknowledged
late and rejected when their worker is lost, the visibility timeout is longer than the longest job, and a
worker prefetches no more tasks than it has threads, so it never hoards work another worker could start.
"""

from __future__ import annotations

from celery import Celery

from engine.settings import QueueSettings

#: The one task: take the next job for a model and run it.
RUN_NEXT = "addin.run_next"


def queue_name(model: str) -> str:
    """Each model has its own queue, so a worker listens only for the models it serves."""
    return f"addin.{model}"


def create_celery(settings: QueueSettings) -> Celery:
    app = Celery("addin_engine", broker=settings.url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": int(settings.visibility_timeout_s)},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        worker_enable_remote_control=False,
        task_create_missing_queues=True,
    )
    return app
