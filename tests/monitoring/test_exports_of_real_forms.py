"""Form CSV, ODM and casebook content of the trial's real CRFs (the full patient of tests/full_patient.py:
lymphodepletion, infusion, CRS, ICANS, an adverse event, response and follow-up), not only the test-only form."""
import csv
import io

import pytest
from lxml import etree
from pypdf import PdfReader

pytestmark = pytest.mark.django_db

ODM = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


def csv_rows(client, code):
    answer = client.get(f"/monitoring/exports/forms/{code}.csv")
    assert answer.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))  # streamed


@pytest.mark.parametrize(("code", "expected"), [
    ("lymphodepletion", {"start_date": "2026-02-01", "weight_kg": "63.4", "height_cm": "170.0", "bsa_m2": "1.73"}),
    ("cart_infusion", {"product_lot": "SZ-CART-0001", "infusion_date": "2026-02-06", "weight_kg": "60.0",
                       "cart_cells_infused": "300000000", "dose_cells_per_kg": "5000000.00"}),
    ("crs_assessment", {"assessment_date": "2026-02-08", "max_temperature_c": "38.6", "grade": "1",
                        "status": "signed"}),
    ("icans_assessment", {"assessment_date": "2026-02-11", "ice_score": "9", "grade": "1", "status": "locked"}),
    ("adverse_events", {"term": "Cytokine release syndrome", "grade": "3", "onset_date": "2026-02-08"}),
    ("response_assessment", {"assessment_date": "2026-03-06", "bone_marrow_blasts_percent": "1.00",
                             "response": "CR"}),
    ("follow_up", {"contact_date": "2026-04-07", "follow_up_status": "alive_in_remission"}),
])
def test_form_csv_of_each_real_crf_holds_its_saved_values(client, data_manager, full_patient, code, expected):
    """A CSV that writes another form's rows, drops a field or a computed value (BSA, dose per kg, grade), or
    shows a stale status fails here."""
    client.force_login(data_manager)
    [row] = csv_rows(client, code)
    assert row["subject_id"] == full_patient.patient.study_id
    assert {field: row[field] for field in expected} == expected


def test_odm_export_holds_the_real_crfs_values(api_client, data_manager, full_patient):
    """An ODM export that leaves a real form out, or writes a field's value under another item, fails here."""
    api_client.force_authenticate(data_manager)
    answer = api_client.get("/api/v1/export/odm/")
    document = etree.fromstring(b"".join(answer.streaming_content))
    subject = document.xpath(f"//odm:SubjectData[@SubjectKey='{full_patient.patient.study_id}']", namespaces=ODM)
    assert len(subject) == 1

    def values(item_oid):
        return [item.get("Value") for item in subject[0].xpath(f".//odm:ItemData[@ItemOID='{item_oid}']",
                                                               namespaces=ODM)]

    assert values("I.CART_INFUSION.PRODUCT_LOT") == ["SZ-CART-0001"]
    assert values("I.CART_INFUSION.CART_CELLS_INFUSED") == ["300000000"]
    assert values("I.LYMPHODEPLETION.BSA_M2") == ["1.73"]
    assert values("I.CRS_ASSESSMENT.MAX_TEMPERATURE_C") == ["38.6"]
    assert values("I.CRS_ASSESSMENT.GRADE") == ["1"]
    assert values("I.ICANS_ASSESSMENT.ICE_SCORE") == ["9"]
    assert values("I.ADVERSE_EVENTS.TERM") == ["Cytokine release syndrome"]
    assert values("I.RESPONSE_ASSESSMENT.RESPONSE") == ["CR"]
    assert values("I.FOLLOW_UP.CONTACT_DATE") == ["2026-04-07"]


def test_casebook_holds_every_real_crf_with_its_values_and_signature(client, investigator, full_patient):
    """A casebook that leaves out a form, its values or its signature fails here."""
    investigator.first_name, investigator.last_name = "Li", "Wei"
    investigator.save()
    client.force_login(investigator)
    answer = client.get(f"/monitoring/patients/{full_patient.patient.study_id}/casebook.pdf")
    assert answer["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.content))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    for label in ("Screening and eligibility", "Baseline", "Lymphodepletion", "CAR-T product and infusion",
                  "CRS assessment", "ICANS assessment", "Adverse events", "Response assessment", "Follow-up"):
        assert label in text, label
    assert "SZ-CART-0001" in text
    assert "38.6" in text and "Cytokine release syndrome" in text and "1.73" in text
    assert "Signed by" in text  # the CRS assessment's signature
