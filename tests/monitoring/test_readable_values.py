"""Values read as a clinician reads them on the monitor's CRF page (and, through the same helper, in the
PDFs): labels with units, cells in millions, choice labels, eligibility criterion by criterion, lists as
lists; and a casebook batch shows its progress."""
import re
from decimal import Decimal
from html import unescape

import pytest

from crf.display import DisplayList, DisplayTable, format_text, format_value
from monitoring.models import ExportJob

pytestmark = pytest.mark.django_db


def _crf_page(client, user, crf) -> str:
    client.force_login(user)
    response = client.get(f"/monitoring/crf/{crf._meta.label_lower}/{crf.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def _row(html: str, field: str) -> str:
    """The text of the values table's row of one field (a value may hold a table of its own), tags stripped."""
    start = html.index(f'<tr data-field="{field}"')
    ends = [end for end in (html.find('<tr data-field="', start + 1), html.find("</tbody>\n</table>", start))
            if end != -1]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html[start:min(ends)])).split())


def test_car_t_dose_reads_in_millions_of_car_positive_cells_per_kg(client, full_patient, monitor):
    infusion = full_patient.crfs["infusions.infusion"]
    assert infusion.dose_cells_per_kg == Decimal("5000000.00")  # 300 × 10⁶ CAR⁺ cells / 60 kg
    html = _crf_page(client, monitor, infusion)
    assert _row(html, "dose_cells_per_kg").startswith("CAR-T dose (×10⁶ CAR⁺ cells/kg) 5.00")
    # a count of cells as the infusion form takes it: 300 (×10⁶), every cell kept (crf.display.cells_in_millions)
    assert _row(html, "cart_cells_infused") == "CAR⁺ viable cells infused (×10⁶) 300"
    assert _row(html, "car_positive_percent").startswith("CAR⁺ cells (% of viable) 50.00")
    assert _row(html, "weight_kg").startswith("Weight at infusion (kg) 60.0")
    assert "Car positive percent" not in html and "Dose cells per kg" not in html
    # the fraction, a child row, under its form with the same units
    assert "Infusion fractions" in html and "Fraction date" in html and "300.00" not in html


def test_lymphodepletion_doses_are_listed_under_their_course(client, full_patient, monitor):
    course = full_patient.crfs["infusions.lymphodepletion"]
    html = _crf_page(client, monitor, course)
    assert _row(html, "bsa_m2").startswith("Body-surface area (m²) ")
    table = re.search(r'data-model="infusions.lymphodepletiondose">(.*?)</table>', html, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", " ", table).split())
    for header in ("Study day", "Agent", "Planned dose (mg)", "Administered dose (mg)", "Dose check",
                   "Reduced for renal function"):
        assert header in text
    assert text.count("Fludarabine") == 3 and text.count("Cyclophosphamide") == 3
    assert "fludarabine" not in text  # the choice label, not the code


def test_eligibility_reads_criterion_by_criterion(client, full_patient, monitor):
    screening = full_patient.crfs["patients.screeningcrf"]
    html = _crf_page(client, monitor, screening)
    row = _row(html, "eligibility")
    assert "{" not in row and "True" not in row
    criteria = list(screening.protocol.eligibility_criteria.order_by("order", "code"))
    for criterion in criteria:
        answer = screening.eligibility.get(criterion.code)
        shown = ({True: "Met", False: "Not met"} if criterion.kind == "inclusion"
                 else {True: "Present", False: "Absent"}).get(answer, "Not assessed")
        assert f"{criterion.get_kind_display()} {criterion.code} {criterion.text} {shown}" in row


def test_seriousness_criteria_read_as_a_list_of_their_labels(client, full_patient, monitor):
    event = full_patient.adverse_event
    html = _crf_page(client, monitor, event)
    assert re.search(r"<li>\s*Requires inpatient hospitalisation or prolongation of existing hospitalisation\s*</li>",
                     html)
    assert "[&#x27;hospitalisation&#x27;]" not in html and "['hospitalisation']" not in html


def test_the_formatting_helper_on_each_kind_of_value(full_patient):
    event = full_patient.adverse_event
    field = type(event)._meta.get_field
    assert format_text(event, field("relatedness_cart")) == "Definitely related"
    assert format_text(event, field("serious")) == "Yes"
    assert format_text(event, field("resolution_date")) == "—"
    assert isinstance(format_value(event, field("seriousness_criteria")), DisplayList)
    screening = full_patient.crfs["patients.screeningcrf"]
    table = format_value(screening, type(screening)._meta.get_field("eligibility"))
    assert isinstance(table, DisplayTable) and table.header == ["Criterion", "", "Answer"]
    infusion = full_patient.crfs["infusions.infusion"]
    assert format_text(infusion, type(infusion)._meta.get_field("total_viable_cells")) == "2,000"


def test_a_casebook_batch_shows_how_many_casebooks_are_done(client, data_manager, patient_sz):
    job = ExportJob.objects.create(requested_by=data_manager, status=ExportJob.Status.RUNNING, total_count=4,
                                   done_count=1)
    job.patients.set([patient_sz])
    client.force_login(data_manager)
    html = client.get(f"/monitoring/exports/jobs/{job.pk}/").content.decode()
    assert "1 of 4 casebooks written (25 %)" in html
    assert 'aria-valuenow="1"' in html and 'aria-valuemax="4"' in html and "width: 25%" in html
    assert 'http-equiv="refresh"' in html
