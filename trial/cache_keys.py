"""The parts of a cache key for what is derived from clinical records (the endpoints, the laboratory's cohort
reads): a version of the data they are computed from, and which patients the reader sees. Every audited save
writes a history row, so the highest history id of each table moves on every change, from any process; the
tables' highest ids catch a row inserted without history (bulk loads). A changed record is never answered from
a stale entry."""
from collections.abc import Iterable
from typing import Any

from django.db import connection

from .roles import is_trial_wide, visible_sites


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


def visibility_scope(user) -> str:
    """Which patients the user sees, as part of a cache key (mirrors Patient.objects.visible_to)."""
    if not user.is_authenticated or not user.is_active:
        return "none"
    if is_trial_wide(user):
        return "all"
    return "sites-" + ".".join(str(pk) for pk in sorted(visible_sites(user).values_list("pk", flat=True)))
