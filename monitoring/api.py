"""Queries, the signing action and the ODM export over the API. Everything
goes through the same services as the pages; there is no other way to write
a signature than `POST .../sign/` with the signer's password."""
from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from crf.checks import error_detail
from crf.models import crf_children, crf_model
from crf.services import crf_child_row_remove, crf_remove_through_form
from patients.models import Patient
from trial.roles import require_data_entry

from . import services
from .models import DataQuery
from .roles import can_lock
from .serializers import (
    DataQuerySerializer,
    QueryAnswerSerializer,
    QueryCommentSerializer,
    QueryRaiseSerializer,
    RemovalSerializer,
    RemovedSerializer,
    SignatureSerializer,
    SignRequestSerializer,
)


def _crf_for_user(user, crf_code: str, pk: int):
    try:
        model = crf_model(crf_code)
    except LookupError:
        raise exceptions.NotFound("No such form.") from None
    crf = model.objects.filter(pk=pk, patient__in=Patient.objects.visible_to(user)).select_related(
        "patient", "patient__site").first()
    if crf is None:
        raise exceptions.NotFound("No such form.")
    return crf


class DataQueryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Data queries of visible patients; `?status=open` and `?subject_id=`."""

    serializer_class = DataQuerySerializer

    def get_queryset(self):
        queries = DataQuery.objects.filter(patient__in=Patient.objects.visible_to(self.request.user)) \
            .select_related("patient", "content_type").prefetch_related("messages__author").order_by("raised_at")
        if query_status := self.request.query_params.get("status"):
            queries = queries.filter(status=query_status)
        if subject_id := self.request.query_params.get("subject_id"):
            queries = queries.filter(patient__in=Patient.objects.by_study_id(subject_id))
        return queries

    def _answer(self, query):
        return Response(DataQuerySerializer(DataQuery.objects.get(pk=query.pk)).data)

    @extend_schema(request=QueryRaiseSerializer, responses={201: DataQuerySerializer})
    def create(self, request):
        data = QueryRaiseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            crf = _crf_for_user(request.user, data.validated_data["crf_code"], data.validated_data["crf_id"])
        except exceptions.NotFound:  # named in the body, not the URL: a bad request, not a missing page
            raise exceptions.ValidationError({"crf_id": ["No such form of a patient you may see."]}) from None
        query = services.query_raise(crf=crf, field=data.validated_data["field"],
                                     text=data.validated_data["text"], by=request.user)
        return Response(DataQuerySerializer(query).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=QueryAnswerSerializer, responses=DataQuerySerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None, format=None):
        query = self.get_object()  # another site's query is a 404 whatever the body
        data = QueryAnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new_value = data.validated_data["new_value"]
        services.query_answer(query=query, by=request.user, text=data.validated_data["text"],
                              new_value=new_value if new_value not in (None, "") else None,
                              reason=data.validated_data["reason"],
                              acknowledge_deviation=data.validated_data["acknowledge_deviation"])
        return self._answer(query)

    @extend_schema(request=QueryCommentSerializer, responses=DataQuerySerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None, format=None):
        query = self.get_object()  # another site's query is a 404 whatever the body
        data = QueryCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.query_close(query=query, by=request.user, text=data.validated_data["text"])
        return self._answer(query)

    @extend_schema(request=QueryCommentSerializer, responses=DataQuerySerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None, format=None):
        query = self.get_object()  # another site's query is a 404 whatever the body
        data = QueryCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.query_reopen(query=query, by=request.user, text=data.validated_data["text"])
        return self._answer(query)


class CrfSignView(APIView):
    """An investigator of the patient's site signs a CRF by re-entering the password; a wrong
    password or authenticator code counts toward the account's lockout."""

    @extend_schema(request=SignRequestSerializer, responses={201: SignatureSerializer})
    def post(self, request, crf_code: str, crf_id: int):
        crf = _crf_for_user(request.user, crf_code, crf_id)  # another site's form is a 404 whatever the body
        data = SignRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # A token is no OTP-verified session: over the API the code travels with the password.
        try:
            signature = services.crf_sign(crf=crf, by=request.user, password=data.validated_data["password"],
                                          otp_token=data.validated_data["otp_token"], request=request)
        except ValidationError as refusal:
            # Answered, not raised: a raised error rolls the request's transaction back (ATOMIC_REQUESTS),
            # and with it the count of a wrong password or code toward lockout (trial/lockout.py). The
            # signing itself ran in its own transaction, already rolled back.
            return Response(error_detail(refusal), status=status.HTTP_400_BAD_REQUEST)
        return Response(SignatureSerializer(signature).data, status=status.HTTP_201_CREATED)


def _removed(crf, row=None) -> dict:
    crf = type(crf)._base_manager.get(pk=crf.pk)
    answer = {"id": crf.pk, "crf_code": crf.crf_code, "version": crf.version, "removed": crf.removed,
              "removal_reason": crf.removal_reason}
    if row is not None:
        row = type(row).all_rows.get(pk=row.pk)
        answer["row"] = {"id": row.pk, "removed": row.removed, "removal_reason": row.removal_reason}
    return answer


class CrfRemoveView(APIView):
    """Remove a form recorded in error, with a `reason`, through the form's own removal service (as on the
    page): a status with a reason, never a delete; locks refuse it; what follows from it is derived again."""

    @extend_schema(request=RemovalSerializer, responses={200: RemovedSerializer})
    def post(self, request, crf_code: str, crf_id: int):
        crf = _crf_for_user(request.user, crf_code, crf_id)  # another site's form is a 404 whatever the body
        require_data_entry(request.user, crf.patient.site)  # a monitor's is a 403 whatever the body
        data = RemovalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        crf_remove_through_form(crf=crf, by=request.user, reason=data.validated_data["reason"])
        return Response(_removed(crf))


class CrfRowRemoveView(APIView):
    """Remove one row of a form (a lymphodepletion dose, an infusion fraction) through the form's own service:
    the form is recorded again without it, its checks run (a soft check needs `acknowledge_deviation`), the row
    is marked removed with the `reason`."""

    @extend_schema(request=RemovalSerializer, responses={200: RemovedSerializer})
    def post(self, request, crf_code: str, crf_id: int, row_id: int):
        crf = _crf_for_user(request.user, crf_code, crf_id)
        require_data_entry(request.user, crf.patient.site)
        found = [row_model.all_rows.filter(pk=row_id, **{fk.attname: crf.pk}).first()
                 for row_model, fk in crf_children(type(crf), form_rows_only=True)]
        row = next((row for row in found if row is not None), None)
        if row is None:
            raise exceptions.NotFound("No such row of this form.")
        data = RemovalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        crf_child_row_remove(row=row, by=request.user, reason=data.validated_data["reason"],
                             acknowledge_deviation=data.validated_data["acknowledge_deviation"])
        return Response(_removed(crf, row))


class OdmExportView(APIView):
    """The whole trial (visible patients) as CDISC ODM 1.3.2 XML, for data managers."""

    @extend_schema(responses={(200, "application/xml"): OpenApiTypes.STR})
    def get(self, request):
        from .exports_views import odm_response

        if not can_lock(request.user):
            raise exceptions.PermissionDenied("Exports are for data managers.")
        return odm_response(request)
