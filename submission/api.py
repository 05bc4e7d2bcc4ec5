"""GET /api/v1/export/sdtm.zip and /api/v1/export/adam.zip: the package of the patients the data manager
may see, built in the request and recorded as an export."""
from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.views import APIView

from monitoring.roles import can_lock
from outcomes.serializers import EndpointsQuerySerializer

from .services import ADAM, SDTM, package_export


class _CutoffQuery(EndpointsQuerySerializer):
    """The endpoints' cut-off, checked the same way (not after today; default today)."""

    censor_at_hsct = serializers.HiddenField(default=False)


class _PackageView(APIView):
    standard = SDTM

    @extend_schema(
        parameters=[OpenApiParameter("cutoff", OpenApiTypes.DATE, description=(
            "Data cut-off, YYYY-MM-DD, not after today (default: today), as on the endpoints page."))],
        responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description=(
            "One .xpt (SAS XPORT v5) and one .csv per dataset, and define.xml (Define-XML 2.1)."))},
    )
    def get(self, request):
        if not can_lock(request.user):
            raise PermissionDenied(gettext("Exports are for data managers."))
        query = _CutoffQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        cutoff = query.validated_data["cutoff"]
        content = package_export(standard=self.standard, user=request.user, cutoff=cutoff)
        response = HttpResponse(content, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{self.standard}-{cutoff:%Y-%m-%d}.zip"'
        return response


class SdtmPackageView(_PackageView):
    """The SDTM (SDTMIG 3.4) datasets with define.xml."""

    standard = SDTM


class AdamPackageView(_PackageView):
    """The ADaM (ADaMIG 1.3) datasets with define.xml."""

    standard = ADAM
