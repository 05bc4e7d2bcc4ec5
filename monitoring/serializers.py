from rest_framework import serializers

from .models import DataQuery, QueryMessage, Signature


class QueryMessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = QueryMessage
        fields = ["action", "text", "old_value", "new_value", "author", "created_at"]

    def get_author(self, message) -> str:
        return (message.author.get_full_name() or message.author.username) if message.author else "edit check"


class DataQuerySerializer(serializers.ModelSerializer):
    subject_id = serializers.CharField(source="patient.study_id", read_only=True)
    crf_code = serializers.SerializerMethodField()
    messages = QueryMessageSerializer(many=True, read_only=True)

    class Meta:
        model = DataQuery
        fields = ["id", "subject_id", "crf_code", "object_id", "crf_label", "field", "field_label", "text",
                  "status", "automatic", "raised_at", "closed_at", "messages"]

    def get_crf_code(self, query) -> str:
        return getattr(query.content_type.model_class(), "crf_code", "")


class QueryRaiseSerializer(serializers.Serializer):
    crf_code = serializers.CharField()
    crf_id = serializers.IntegerField()
    field = serializers.CharField()
    text = serializers.CharField()


class QueryAnswerSerializer(serializers.Serializer):
    text = serializers.CharField()
    new_value = serializers.JSONField(
        required=False, allow_null=True, default=None,
        help_text="The corrected value: text (dates as YYYY-MM-DD, coded values by code); for a structured field "
                  "the object or list it holds (eligibility: {criterion code: true/false/null}; "
                  "seriousness_criteria: a list of codes; capd_items: the eight item scores 0-4).")
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Reason for the change (and for a protocol deviation it causes).")
    acknowledge_deviation = serializers.BooleanField(
        required=False, default=False,
        help_text="Save a corrected value that fails one of the form's soft checks; records a protocol deviation.")


class QueryCommentSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, default="")


class SignRequestSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    otp_token = serializers.CharField(
        write_only=True, required=False, allow_blank=True, default="",
        help_text="The current code of the signer's authenticator app, where the site requires two-factor "
                  "signatures.")


class SignatureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Signature
        fields = ["id", "crf_label", "object_id", "signer_full_name", "signed_at", "meaning", "values_sha256",
                  "hash_scope", "voided_at", "void_reason"]


class CrfChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    old = serializers.CharField()
    new = serializers.CharField()
    by = serializers.CharField()
    at = serializers.DateTimeField()
    reason = serializers.CharField()


class CrfConflictSerializer(serializers.Serializer):
    """The 409 body of a stale update (`crf.checks.CrfConflict.as_dict`)."""

    detail = serializers.CharField()
    version = serializers.IntegerField(help_text="The version the request was based on.")
    current_version = serializers.IntegerField(help_text="The stored version: read the record again.")
    changes = CrfChangeSerializer(many=True, help_text="What the saves since `version` changed.")


class RemovalSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why the form or row is removed (kept with it).")
    acknowledge_deviation = serializers.BooleanField(
        default=False, help_text="Removing a row may make a soft check fail (a dose now missed, a CAR-T dose now "
                                 "outside the range): true acknowledges it, with `reason` as the deviation's.")


class RemovedRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    removed = serializers.BooleanField()
    removal_reason = serializers.CharField()


class RemovedSerializer(serializers.Serializer):
    """The form after the removal (of itself, or of one of its rows)."""

    id = serializers.IntegerField()
    crf_code = serializers.CharField()
    version = serializers.IntegerField()
    removed = serializers.BooleanField()
    removal_reason = serializers.CharField()
    row = RemovedRowSerializer(required=False)
