from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Protocol
from .roles import visible_sites
from .serializers import ProtocolSerializer, SiteSerializer


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
