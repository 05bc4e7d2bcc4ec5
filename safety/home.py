"""The overdue-SAE-report and SUSAR-clock panels on investigators' and monitors' home pages."""
from django.utils import timezone

from patients.models import Patient
from trial.models import Role

from .rules import sae_initial_report_due
from .services import sae_events_overdue, susar_clocks

PANEL_ROLES = {Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER, Role.ADMINISTRATOR}


def home_panels(request, roles) -> list[tuple[str, dict]]:
    if not set(roles) & PANEL_ROLES:
        return []
    patients, now = Patient.objects.visible_to(request.user), timezone.now()
    overdue = sae_events_overdue(patients=patients, now=now)
    rows = [(event, sae_initial_report_due(timezone.localtime(event.aware_at))) for event in overdue]
    return [("safety/home_sae_overdue.html", {"rows": rows}),
            ("safety/home_susar_clocks.html", {"clocks": susar_clocks(patients=patients, now=now)})]
