"""Schemathesis against the OpenAPI schema the app serves: every operation, a bounded number of generated
requests each, as a coordinator of a site with a patient; no answer is a 500, and every answer matches
what the schema says (status code, content type, body)."""
import datetime
from decimal import Decimal

import pytest
import schemathesis
import yaml
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from crf.services import crf_save
from monitoring.services import query_raise
from tests.crfapp.models import SampleForm
from tests.factories import PatientFactory, infuse
from tests.hostile import examples
from trial.tokens import api_token_create

pytestmark = pytest.mark.django_db


# The schema the app serves at /api/v1/schema/, generated once at collection (no database needed).
OPENAPI = SchemaGenerator().get_schema(request=None, public=True)
schema = schemathesis.openapi.from_dict(OPENAPI)
schema.app = WSGIHandler()  # requests go to Django in-process, inside each test's transaction


CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def openapi_dict():
    return OPENAPI


def test_served_schema_is_valid_openapi_3_and_is_the_generated_one(client, coordinator, openapi_dict):
    validate_schema(openapi_dict)  # drf-spectacular's check against the OpenAPI 3 JSON schema
    client.force_login(coordinator)
    served = client.get("/api/v1/schema/")
    assert served.status_code == 200
    assert yaml.safe_load(served.content)["paths"].keys() == openapi_dict["paths"].keys()


@pytest.fixture
def seeded(protocol, site_sz, coordinator, monitor):
    """A coordinator's token, and the path values that reach real records of the coordinator's site."""
    patient = infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=datetime.date(2026, 1, 20))
    crf = crf_save(crf=SampleForm(patient=patient, protocol=protocol, assessment_date=datetime.date(2026, 2, 1),
                                  weight_kg=Decimal("62.5"), performance_status="1"), by=coordinator)
    query = query_raise(crf=crf, field="weight_kg", text="Check the weight", by=monitor)
    _token, key = api_token_create(user=coordinator)
    spare, _key = api_token_create(user=coordinator, name="revoked by the generated requests")
    return {
        "headers": {"Authorization": f"Token {key}"},
        "path": {"study_id": patient.study_id, "crf_code": "sample_form", "crf_id": crf.pk, "id": query.pk,
                 "code": site_sz.code, "token_id": spare.pk},
    }


@pytest.fixture
def in_process_wsgi():
    """Django's WSGI handler in this thread and this test's transaction, as the test client runs it:
    without closing the database connection at the end of each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_generated_requests_are_answered_as_the_schema_says(seeded, in_process_wsgi):
    """Each operation in turn, in one test so the seeded records are made once (a few generated requests per
    operation: the suite stays quick; HYPOTHESIS_PROFILE=explore draws many more)."""
    failures = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25

    for operation in operations:
        @settings(max_examples=examples(5))
        @given(case=operation.as_strategy())
        def call(case):
            for name, value in seeded["path"].items():
                if case.path_parameters and name in case.path_parameters:
                    case.path_parameters[name] = value
            case.call_and_validate(headers=seeded["headers"], checks=CHECKS)

        try:
            call()
        except Exception as failure:  # noqa: BLE001 - collected, reported together below
            failures[operation.label] = failure
    assert not failures, "\n\n".join(f"{label}: {failure}" for label, failure in failures.items())
