"""API shapes every CRF answer shares."""
from rest_framework import serializers


class CrfIdentityFields(serializers.Serializer):
    """What names a CRF in the query and signature routes (`/api/v1/queries/`,
    `/api/v1/crfs/{crf_code}/{id}/sign/`): every CRF answer carries them."""

    id = serializers.IntegerField(read_only=True)
    crf_code = serializers.CharField(read_only=True, help_text="The form's code in the query and signature routes.")
    version = serializers.IntegerField(
        read_only=True, help_text="Raised at each save; send it back with a PUT (optimistic concurrency).")
