"""One translation of a service's refusal into an API answer, the same for every route
(settings.REST_FRAMEWORK["EXCEPTION_HANDLER"]):

- `CrfConflict` (an edit based on a stale `version`) → 409 with what the other saves changed;
- `SoftChecksNotAcknowledged` → 400, the messages under `acknowledge_deviation` and the
  failed checks under `soft_checks` (rule, field, message, value);
- any other Django `ValidationError` → 400 with per-field messages (`error_detail`); a view
  whose API names a field differently from the model lists the renames in `api_field_names`;
- Django's `PermissionDenied` → 403 with the service's own message;
- everything else as DRF answers it (its own validation errors, 401, 403, 404, 405, …).
Views call the services and let these errors rise; none translates them itself.
"""
from dataclasses import asdict

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from crf.checks import CrfConflict, SoftChecksNotAcknowledged, error_detail


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, CrfConflict):  # someone saved since this client read the record
        set_rollback()
        return Response(exc.as_dict(), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        body = error_detail(exc, renamed=getattr(context.get("view"), "api_field_names", None))
        if isinstance(exc, SoftChecksNotAcknowledged):
            body["soft_checks"] = [{key: str(value) for key, value in asdict(check).items()} for check in exc.checks]
        set_rollback()
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)
