"""Home-page panel: open queries with their age, for monitors and data
managers (to chase) and for coordinators and investigators (to answer)."""
from django.utils.translation import gettext as _

from trial.models import Role

from .selectors import open_queries


def home_panels(request, roles) -> list[tuple[str, dict]]:
    if not roles & {Role.MONITOR, Role.DATA_MANAGER, Role.ADMINISTRATOR, Role.COORDINATOR, Role.INVESTIGATOR}:
        return []
    queries = open_queries(request.user)
    to_answer = not roles & {Role.MONITOR, Role.DATA_MANAGER, Role.ADMINISTRATOR}
    return [("monitoring/home_open_queries.html", {
        "title": _("Queries to answer") if to_answer else _("Open queries"),
        "queries": list(queries[:15]), "total": queries.count(),
    })]
