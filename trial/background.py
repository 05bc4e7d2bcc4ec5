"""Long builds (casebook batches, submission packages) in the background, with or without a worker.

With a broker the build is a Celery task. Without one (``make run`` with no ``REDIS_URL``: tasks run eagerly,
inside the request), running the task would block the request for the whole build, so it runs in a thread of
this process instead and the page shows its progress. Tests that want the build inline turn the thread off
with ``settings.CASEBOOK_BATCH_IN_THREAD = False`` (named for the first build that used it).
"""
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


def build_in_background(task: Any, build: Callable[..., Any], *, name: str, **kwargs: Any) -> threading.Thread | None:
    """Queue ``task.delay(**kwargs)`` on a worker, or, when tasks run eagerly, start ``build(**kwargs)`` in a
    daemon thread named ``name`` and return it (None when queued). ``build`` records its own failure on its
    record (job, package); the thread only logs it, having no one else to tell."""
    if not task.app.conf.task_always_eager or not getattr(settings, "CASEBOOK_BATCH_IN_THREAD", True):
        task.delay(**kwargs)
        return None
    thread = threading.Thread(target=_build_in_thread, args=(build, name), kwargs=kwargs, name=name, daemon=True)
    thread.start()
    return thread


def _build_in_thread(build: Callable[..., Any], name: str, **kwargs: Any) -> None:
    try:
        build(**kwargs)
    except Exception:  # recorded on the job or package by the build itself
        logger.exception("Background build %s failed", name)
    finally:
        connection.close()  # the thread's own connection
