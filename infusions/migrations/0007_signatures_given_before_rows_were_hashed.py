"""Signatures of lymphodepletion and infusion forms given before their child rows (doses, fractions) were part
of the signed hash: they hash the form's own values only, so today's hash (form and rows) can never match them
and they read "not intact" although nothing changed.

Each such signature is marked with the scope it was given with (`Signature.hash_scope = "form_values"`); its
hash is left as it was (nothing is re-signed). A signature is marked only when its hash is the form-only hash
of the form as it stands, so a form changed since keeps reading "not intact". From then on
`monitoring.services.signature_is_intact` judges it by the form-only hash, and its rows against what their audit
trail says they held when it was given: a row changed since voids it (docs/architecture.md, "Signatures").
"""
import hashlib
import json

from django.db import migrations

FORMS_WITH_ROWS = ("lymphodepletion", "infusion")

# crf.services.BOOKKEEPING_FIELDS as it stands here: not signed.
BOOKKEEPING_FIELDS = {"id", "status", "created_at", "updated_at", "created_by", "version"}


def form_values_sha256(form, model) -> str:
    """`crf.services.crf_values_sha256(form, with_rows=False)` as written when this migration was: SHA-256 of
    the form's own values as canonical JSON."""
    values = {f.name: f.value_to_string(form) for f in model._meta.concrete_fields if f.name not in BOOKKEEPING_FIELDS}
    payload = json.dumps({"form": model._meta.label_lower, "pk": form.pk, "values": values}, sort_keys=True,
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def mark_form_value_signatures(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Signature = apps.get_model("monitoring", "Signature")
    HistoricalSignature = apps.get_model("monitoring", "HistoricalSignature")
    given_before = []
    for name in FORMS_WITH_ROWS:
        content_type = ContentType.objects.filter(app_label="infusions", model=name).first()
        if content_type is None:  # a new database: nothing was ever signed
            continue
        model = apps.get_model("infusions", name)
        for signature in Signature.objects.filter(content_type=content_type, hash_scope="form_and_rows"):
            form = model._base_manager.filter(pk=signature.object_id).first()
            if form is not None and form_values_sha256(form, model) == signature.values_sha256:
                given_before.append(signature.pk)
    # A migration may write without a history row; the signature's history rows say the same as the row.
    Signature.objects.filter(pk__in=given_before).update(hash_scope="form_values")
    HistoricalSignature.objects.filter(id__in=given_before).update(hash_scope="form_values")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("infusions", "0006_field_labels_with_units"),
        ("monitoring", "0006_signature_hash_scope"),
    ]

    operations = [
        migrations.RunPython(mark_form_value_signatures, migrations.RunPython.noop),
    ]
