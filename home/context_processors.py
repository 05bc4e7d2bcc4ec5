from functools import cache

from trial.roles import role_labels, user_roles


def _open_query_count(user) -> int:
    from monitoring.selectors import open_queries

    return open_queries(user).count()


def trial(request):
    """The current user's roles (codes for the menu's choices, labels to show), and the number of open
    queries at their sites for its badge (counted only when a page shows it)."""
    user = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    roles = user_roles(user) if user is not None else set()
    return {
        "user_roles": roles,
        "user_role_labels": role_labels(roles),
        # A callable: the template calls it (once, under {% with %}) only on pages that draw the menu.
        "open_query_count": cache(lambda: _open_query_count(user)) if authenticated else 0,
    }
