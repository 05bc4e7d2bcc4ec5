"""The cache of the laboratory's cohort reads (the cohort kinetics page and plot, B-cell recovery on the endpoints
page), as outcomes/reports.py caches the endpoints: under a key holding a version of the data they are computed
from, read from the database on every request (one cheap query). Every audited save writes a history row, so
the highest history id of each table moves on every change, from any process; the tables' highest ids catch a
row inserted without history (bulk loads). A changed record is never answered from a stale entry."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache
from django.db import connection

from trial.roles import is_trial_wide, visible_sites


def data_version(models: Iterable[Any]) -> str:
    """A string that changes whenever a row of one of ``models`` (each with a simple-history table) changes."""
    quote = connection.ops.quote_name
    parts = []
    for model in models:
        # Highest ids only: each an index look-up, where COUNT(*) would read every row.
        parts.append(f"(SELECT MAX(history_id) FROM {quote(model.history.model._meta.db_table)})")
        parts.append(f"(SELECT MAX({quote(model._meta.pk.column)}) FROM {quote(model._meta.db_table)})")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}")
        return "-".join(str(value) for value in cursor.fetchone())


def scope(user) -> str:
    """Which patients the user sees, as part of a cache key (mirrors Patient.objects.visible_to)."""
    if not user.is_authenticated or not user.is_active:
        return "none"
    if is_trial_wide(user):
        return "all"
    return "sites-" + ".".join(str(pk) for pk in sorted(visible_sites(user).values_list("pk", flat=True)))


def cached(key: str, compute: Callable[[], Any]) -> Any:
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value)
    return value


def get(key: str) -> Any:
    return cache.get(key)
