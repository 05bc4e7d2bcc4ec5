from django.urls import reverse
from rest_framework import serializers

from .models import Patient


class PatientSerializer(serializers.ModelSerializer):
    subject_id = serializers.CharField(source="study_id", read_only=True)
    site = serializers.CharField(source="site.code", read_only=True)
    protocol_version = serializers.CharField(source="protocol.version", read_only=True)
    day_zero_date = serializers.DateField(source="infusion_date", read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = [
            "subject_id", "screening_number", "site", "status", "sex", "birth_date", "consent_date",
            "screening_date", "enrollment_date", "day_zero_date", "protocol_version", "links",
        ]

    def get_links(self, patient) -> dict[str, str]:
        request = self.context.get("request")
        base = reverse("api:patient-detail", args=[patient.study_id])
        names = ["lymphodepletion", "infusion", "visits", "adverse-events", "response-assessments", "follow-up"]
        links = {"self": base, **{name: f"{base}{name}/" for name in names}}
        if request is not None:
            links = {key: request.build_absolute_uri(url) for key, url in links.items()}
        return links
