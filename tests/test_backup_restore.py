"""Backup and restore as docs/operations.md tells it: `pg_dump -Fc` of the database, `pg_restore` into a
fresh database, and every table, every record and every history row (who, why) is there."""
import datetime
import os
import shutil
import subprocess
from decimal import Decimal

import psycopg2
import pytest
from django.conf import settings
from django.db import connection

from infusions import services as infusion_services
from safety.models import AdverseEvent
from safety.services import adverse_event_save
from tests.factories import PatientFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),  # pg_dump sees only committed data
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
                       reason="needs PostgreSQL: pg_dump and pg_restore back it up"),
    pytest.mark.skipif(shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
                       reason="needs pg_dump / pg_restore (apt-get install postgresql-client)"),
]


def _server(db):
    settings_dict = connection.settings_dict
    return {"host": settings_dict["HOST"] or "127.0.0.1", "port": str(settings_dict["PORT"] or 5432),
            "user": settings_dict["USER"] or "postgres", "password": settings_dict["PASSWORD"] or "", "dbname": db}


def _pg_env(server):
    return {**os.environ, "PGHOST": server["host"], "PGPORT": server["port"], "PGUSER": server["user"],
            "PGPASSWORD": server["password"]}


def _counts(cursor, tables) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    return counts


HISTORY_SQL = ("SELECT id, history_type, history_user_id, history_change_reason, term, grade, resolution_date "
               "FROM safety_historicaladverseevent ORDER BY history_id")


@pytest.fixture
def clinical_data(protocol, site_sz, coordinator, investigator):
    """A patient with lymphodepletion and an adverse event corrected twice, each with a reason."""
    patient = PatientFactory(site=site_sz, protocol=protocol)
    infusion_services.lymphodepletion_record(
        patient=patient, by=coordinator, start_date=datetime.date(2026, 2, 1), weight_kg=Decimal("63.4"),
        height_cm=Decimal("170"),
        doses=[infusion_services.DoseEntry(day, agent, Decimal(mg)) for day in (-5, -4, -3)
               for agent, mg in (("fludarabine", "52"), ("cyclophosphamide", "519"))])
    event = adverse_event_save(event=AdverseEvent(
        patient=patient, protocol=protocol, term="Febrile neutropenia", grade=3, onset_date=datetime.date(2026, 2, 3),
        relatedness_cart="possible", relatedness_lymphodepletion="probable", action_taken="treatment",
        outcome="recovering"), by=coordinator)
    event.grade = 2
    event = adverse_event_save(event=event, by=coordinator, reason="Grade misread from the source notes")
    event.resolution_date, event.outcome = datetime.date(2026, 2, 9), "recovered"
    return adverse_event_save(event=event, by=investigator, reason="Resolution documented at the D7 visit")


def test_restored_dump_holds_every_table_record_and_history_row(clinical_data, coordinator, investigator,
                                                                 tmp_path):
    source = _server(connection.settings_dict["NAME"])
    base = connection.settings_dict["NAME"].removeprefix("test_")
    restored = _server(f"{base}_restore_{os.getpid()}")
    dump = tmp_path / "edc.dump"
    subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(dump), source["dbname"]],
                   env=_pg_env(source), check=True, capture_output=True)

    admin = psycopg2.connect(**{**source, "dbname": "postgres"})
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{restored["dbname"]}"')
        cursor.execute(f'CREATE DATABASE "{restored["dbname"]}"')
    try:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", restored["dbname"], str(dump)],
                       env=_pg_env(restored), check=True, capture_output=True)
        tables = connection.introspection.table_names()
        with connection.cursor() as cursor:
            expected = _counts(cursor, tables)
            cursor.execute(HISTORY_SQL)
            expected_history = cursor.fetchall()
        copy = psycopg2.connect(**restored)
        try:
            with copy.cursor() as cursor:
                assert _counts(cursor, tables) == expected
                cursor.execute(HISTORY_SQL)
                history = cursor.fetchall()
                cursor.execute("SELECT term, grade, outcome, resolution_date FROM safety_adverseevent WHERE id = %s",
                               [clinical_data.pk])
                event = cursor.fetchone()
                cursor.execute("SELECT count(*) FROM infusions_lymphodepletiondose d JOIN infusions_lymphodepletion "
                               "l ON d.course_id = l.id WHERE l.patient_id = %s", [clinical_data.patient_id])
                doses = cursor.fetchone()[0]
        finally:
            copy.close()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored["dbname"]}" WITH (FORCE)')
        admin.close()

    assert expected["safety_adverseevent"] == 1 and expected["patients_patient"] >= 1
    assert event == ("Febrile neutropenia", 2, "recovered", datetime.date(2026, 2, 9))
    assert doses == 6
    assert history == expected_history
    assert [(row[1], row[2], row[3], row[5]) for row in history] == [
        ("+", coordinator.pk, "Initial entry", 3),
        ("~", coordinator.pk, "Grade misread from the source notes", 2),
        ("~", investigator.pk, "Resolution documented at the D7 visit", 2),
    ]
