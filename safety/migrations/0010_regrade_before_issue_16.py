"""Forms saved before issue 16 keep the grade of the old rule (CRS graded form by form; ICE or CAPD chosen by the
age at infusion) and no rule applied (`grading_rule` blank: how to tell them). This grades every patient's CRS
course and ICANS assessments again, once, through the services (`safety.services.syndromes_regrade`, the same
as `manage.py safety_regrade`): each change is audited with its reason, signatures on changed forms are void;
a signed or source-verified form whose grade the course rule confirms is left as it was.

On purpose it calls the application's services, not a copy of the rules: a derived value is derived by the one
rule. They read the tables as the migrations up to these dependencies leave them; should a later migration change
these tables, replace this one's body with a note to run `manage.py safety_regrade` (idempotent)."""
from django.db import migrations


def regrade(apps, schema_editor):
    from safety.management.commands.safety_regrade import report_lines
    from safety.services import syndromes_regrade

    report = syndromes_regrade(by=None)
    if report.regraded or report.not_regraded or any(report.kept_signed.values()):
        print()
        for line in report_lines(report):
            print(f"  {line}")


class Migration(migrations.Migration):

    dependencies = [
        ("safety", "0009_translatable_labels"),
        ("patients", "0008_verbose_names_for_translation"),
        ("monitoring", "0008_texts_in_other_languages_and_verbose_names"),
    ]

    operations = [
        migrations.RunPython(regrade, migrations.RunPython.noop, elidable=True),
    ]
