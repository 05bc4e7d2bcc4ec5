"""Statuses stored before "in follow-up" was derived (no service set it: every infused patient stayed
"infused"): each patient's status is derived from the record once, through the service
(`patients.services.patients_status_rederive`, as `manage.py patients_status_rederive`), audited.

On purpose it calls the application's service, not a copy of the rule; it reads the tables as the migrations up to
these dependencies leave them. Should a later migration change them, replace this body with a note to run the
command (idempotent)."""
from django.db import migrations


def derive(apps, schema_editor):
    from patients.services import patients_status_rederive

    for study_id, before, after in patients_status_rederive(by=None):
        print(f"\n  {study_id}: {before} → {after}", end="")


class Migration(migrations.Migration):

    dependencies = [
        ("patients", "0008_verbose_names_for_translation"),
        ("infusions", "0008_verbose_names_for_translation"),
        ("outcomes", "0007_translatable_labels"),
    ]

    operations = [
        migrations.RunPython(derive, migrations.RunPython.noop, elidable=True),
    ]
