from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .lockout import api_sign_in_record
from .models import ApiToken, Protocol
from .roles import visible_sites
from .serializers import (
    ApiTokenSerializer,
    ProtocolSerializer,
    SiteSerializer,
    TokenCreatedSerializer,
    TokenRequestSerializer,
)
from .tokens import api_token_create, api_token_revoke
from .two_factor import sign_in_second_factor


class ProtocolView(APIView):
    """The protocol version in force, with its eligibility criteria and visit schedule."""

    @extend_schema(responses=ProtocolSerializer)
    def get(self, request):
        protocol = Protocol.objects.prefetch_related("eligibility_criteria", "visit_definitions").current()
        return Response(ProtocolSerializer(protocol).data)


class SiteViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SiteSerializer
    lookup_field = "code"

    def get_queryset(self):
        return visible_sites(self.request.user)


# --- API tokens -----------------------------------------------------------------------------

class TokenObtainView(APIView):
    """A new API token for a username and password, and the current code of the user's authenticator
    app (`otp_token`) when they enrolled one, as at the login page (`token` in the answer, shown this
    once); it expires after API_TOKEN_TTL_DAYS. Wrong passwords and missing or wrong codes count toward
    the account's lockout (429)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=TokenRequestSerializer, auth=[], responses={
        200: TokenCreatedSerializer,
        400: OpenApiResponse(description=(
            "Wrong username or password (`non_field_errors`); the authenticator code missing, wrong or "
            "already used, for a user who enrolled an authenticator (`otp_token`, given only after the right "
            "password, as at the login page); or a field missing.")),
        429: OpenApiResponse(description="The account is locked out after repeated failures (`detail`)."),
    })
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Django's request, so that axes' lockout flag reaches its middleware (a 429).
        user = authenticate(request._request, username=data.validated_data["username"],
                            password=data.validated_data["password"])
        if user is None:
            # Answered, not raised: a raised error rolls the request's transaction back (ATOMIC_REQUESTS),
            # and with it axes' record of the failure (trial/lockout.py).
            return Response({"non_field_errors": [_("Unable to log in with provided credentials.")]},
                            status=status.HTTP_400_BAD_REQUEST)
        try:  # the login page's second factor: its code, for a user with an authenticator
            sign_in_second_factor(user=user, otp_token=data.validated_data.get("otp_token", ""), request=request)
        except ValidationError as refused:  # answered, not raised: axes counted it (above)
            return Response(refused.message_dict, status=status.HTTP_400_BAD_REQUEST)
        token, key = api_token_create(user=user, name=data.validated_data.get("name", ""))
        api_sign_in_record(user=user, request=request)
        return Response({"token": key, **ApiTokenSerializer(token).data})


class TokenListView(APIView):
    """The signed-in user's own tokens, newest first (never their keys)."""

    @extend_schema(responses=ApiTokenSerializer(many=True))
    def get(self, request):
        return Response(ApiTokenSerializer(ApiToken.objects.filter(user=request.user), many=True).data)


class TokenRevokeView(APIView):
    """Revoke one of the signed-in user's tokens; another user's is a 404."""

    @extend_schema(request=None, responses=ApiTokenSerializer)
    def post(self, request, token_id: int):
        token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
        return Response(ApiTokenSerializer(api_token_revoke(token=token, by=request.user)).data)
