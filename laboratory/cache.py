"""The cache of the laboratory's cohort reads (the cohort kinetics page and plot, B-cell recovery on the endpoints
page), as outcomes/reports.py caches the endpoints: under a key holding a version of the data they are computed
from, read from the database on every request (one cheap query). Every audited save writes a history row, so
the highest history id of each table moves on every change, from any process; the tables' highest ids catch a
row inserted without history (bulk loads). A changed record is never answered from a stale entry."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import cache

from trial.cache_keys import data_version, visibility_scope  # noqa: F401 (this module's API)

scope = visibility_scope


def cached(key: str, compute: Callable[[], Any]) -> Any:
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value)
    return value


def get(key: str) -> Any:
    return cache.get(key)
