from django.apps import AppConfig


class SubmissionConfig(AppConfig):
    name = "submission"
    verbose_name = "Submission datasets (CDISC SDTM, ADaM, Define-XML)"
