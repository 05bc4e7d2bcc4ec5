from .roles import user_roles


def trial(request):
    """The current user's roles, for the navigation bar."""
    user = getattr(request, "user", None)
    return {"user_roles": user_roles(user) if user is not None else set()}
