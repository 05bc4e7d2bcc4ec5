"""Who may do what in monitoring (on top of `trial.roles`)."""
from trial.models import Role
from trial.roles import has_role


def can_monitor(user, site) -> bool:
    """Monitors (their sites), data managers and administrators raise and close queries and verify."""
    return has_role(user, Role.MONITOR, Role.DATA_MANAGER, Role.ADMINISTRATOR, site=site)


def can_lock(user) -> bool:
    return has_role(user, Role.DATA_MANAGER, Role.ADMINISTRATOR)


def can_sign(user, site) -> bool:
    """Only an investigator of the patient's site signs (not an administrator)."""
    return has_role(user, Role.INVESTIGATOR, site=site)
