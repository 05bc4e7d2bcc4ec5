"""The default normal ranges (adult reference intervals, canonical units) every site uses until it records
its own: sex-specific where the intervals differ (hemoglobin, creatinine, ferritin), age-specific for IgG."""
from decimal import Decimal

from django.db import migrations
from django.utils import timezone

DEFAULTS = [
    # analyte, sex, age from, age to (exclusive), lower, upper
    ("wbc", "", 0, None, "4000", "11000"),
    ("anc", "", 0, None, "1800", "7700"),
    ("alc", "", 0, None, "1000", "4800"),
    ("hemoglobin", "M", 0, None, "13.5", "17.5"),
    ("hemoglobin", "F", 0, None, "12.0", "15.5"),
    ("platelets", "", 0, None, "150000", "400000"),
    ("creatinine", "M", 0, None, "0.74", "1.35"),
    ("creatinine", "F", 0, None, "0.59", "1.04"),
    ("alt", "", 0, None, "7", "56"),
    ("ast", "", 0, None, "8", "48"),
    ("bilirubin", "", 0, None, "0.1", "1.2"),
    ("ldh", "", 0, None, "135", "225"),
    ("fibrinogen", "", 0, None, "2.0", "4.0"),
    ("d_dimer", "", 0, None, "0", "0.5"),
    ("crp", "", 0, None, "0", "5"),
    ("ferritin", "M", 0, None, "24", "336"),
    ("ferritin", "F", 0, None, "11", "307"),
    ("il6", "", 0, None, "0", "7"),
    ("igg", "", 0, 18, "5.0", "13.0"),
    ("igg", "", 18, None, "7.0", "16.0"),
]


def seed(apps, schema_editor):
    now = timezone.now()
    NormalRange = apps.get_model("laboratory", "NormalRange")
    HistoricalNormalRange = apps.get_model("laboratory", "HistoricalNormalRange")
    for analyte, sex, age_from, age_to, lower, upper in DEFAULTS:
        row = NormalRange.objects.create(analyte=analyte, sex=sex, age_from_years=age_from, age_to_years=age_to,
                                         lower=Decimal(lower), upper=Decimal(upper))
        HistoricalNormalRange.objects.create(
            id=row.id, analyte=analyte, sex=sex, age_from_years=age_from, age_to_years=age_to, lower=row.lower,
            upper=row.upper, history_type="+", history_change_reason="Default normal ranges (migration)",
            history_date=now)


class Migration(migrations.Migration):
    dependencies = [("laboratory", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
