"""Refuse a request with a NUL character in its address, query string or cookies (in English: this runs
before LocaleMiddleware has chosen the language, and no person meets it).

PostgreSQL can neither store nor compare one (psycopg2 raises ValueError, a 500), and no honest client sends
one. Form and API fields already refuse it with a message on the field (Django's and DRF's CharField); this
covers what reaches a query without a form: subject IDs in the path, list filters, the session cookie.
"""
from django.http import HttpResponseBadRequest, JsonResponse

NUL = "\x00"
MESSAGE = "Null characters (\\x00) are not allowed in the address, its parameters or cookies."


def _has_nul(request) -> bool:
    if NUL in request.path_info:
        return True
    for key, values in request.GET.lists():
        if NUL in key or any(NUL in value for value in values):
            return True
    return any(NUL in key or NUL in value for key, value in request.COOKIES.items())


class RejectNullCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": MESSAGE}, status=400)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
