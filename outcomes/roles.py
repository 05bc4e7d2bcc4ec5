"""Who may see the trial's endpoints (pooled efficacy over the visible patients)."""
from trial.models import Role
from trial.roles import has_role

ENDPOINT_ROLES = (Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER, Role.ADMINISTRATOR)


def can_view_endpoints(user) -> bool:
    """Investigators, monitors, data managers and administrators; not coordinators,
    whose work is data entry, not the efficacy analysis."""
    return has_role(user, *ENDPOINT_ROLES)
