"""Cell counts read in ×10⁶ cells wherever a person reads them — the infusion's page, the form's preview, the
monitor's CRF page and the PDFs (through `crf.display`) — as the infusion form takes them, every cell kept;
storage and the API keep whole cells (docs/api.md: `cart_cells_infused` is absolute)."""
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crf.display import cells_in_millions, format_text
from infusions import services
from infusions.forms import cells_from_million, million_from_cells
from infusions.models import Infusion

from .conftest import PRODUCT, single

pytestmark = pytest.mark.django_db

#: 350.123456 ×10⁶: a count whose last cells a rounding to 0.01 ×10⁶ would lose.
CELLS = 350_123_456


@pytest.fixture
def infused(lymphodepleted, coordinator):
    services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
                             fractions=single(CELLS))
    return Infusion.objects.get(patient=lymphodepleted)


def _text(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(?:dd|span)>', html, re.S)
    assert match, testid
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


@pytest.mark.parametrize(("cells", "shown"), [(CELLS, "350.123456"), (240_000_000, "240"), (240_500_000, "240.5"),
                                              (1, "0.000001"), (0, "0")])
def test_a_count_of_cells_reads_in_millions_exactly_and_back(cells, shown):
    assert str(cells_in_millions(cells)) == shown
    assert million_from_cells(cells) == Decimal(shown)
    assert cells_from_million(cells_in_millions(cells)) == cells


def test_infusion_page_shows_the_cells_in_millions_as_the_form_takes_them(client, coordinator, infused):
    client.force_login(coordinator)
    html = client.get(reverse("infusions:cart_infusion_detail", args=[infused.patient.study_id])).content.decode()
    assert "CAR⁺ viable cells infused (×10⁶)" in html
    assert _text(html, "cells-infused") == "350.123456"
    assert _text(html, "lot-cells") == "2,000 ×10⁶ viable cells, viability 92.50 %, CAR⁺ 50.00 %"
    assert "<th>CAR⁺ viable cells (×10⁶)</th>" in html and "<td>350.123456</td>" in html
    assert "350,123,456" not in html and "2,000,000,000" not in html
    # the form opened to correct it holds the same number
    form = client.get(reverse("infusions:cart_infusion_new", args=[infused.patient.study_id])).content.decode()
    assert re.search(r'name="fraction_1_cells_million"[^>]*value="350.123456"', form)


def test_infusion_page_in_chinese_labels_the_unit(client, coordinator, infused):
    client.force_login(coordinator)
    html = client.get(reverse("infusions:cart_infusion_detail", args=[infused.patient.study_id]),
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "回输的 CAR⁺ 活细胞数 (×10⁶)" in html and "<th>CAR⁺ 活细胞数 (×10⁶)</th>" in html
    assert _text(html, "lot-cells").startswith("活细胞 2000 ×10⁶ 个")  # no grouping in Chinese (Django zh_Hans)
    assert _text(html, "cells-infused") == "350.123456"


def test_crf_page_and_pdfs_read_the_same_millions_while_the_api_keeps_whole_cells(client, monitor, infused):
    field = Infusion._meta.get_field
    assert format_text(infused, field("cart_cells_infused")) == "350.123456"
    assert format_text(infused, field("total_viable_cells")) == "2,000"
    assert format_text(infused, field("dose_cells_per_kg")) == "5.84"  # 350.123456 / 60 kg, to its 0.01
    fraction = infused.fractions.get()
    assert format_text(fraction, type(fraction)._meta.get_field("cart_cells_infused")) == "350.123456"
    api = APIClient()
    api.force_authenticate(monitor)
    answer = api.get(f"/api/v1/patients/{infused.patient.study_id}/infusion/").json()
    assert (answer["cart_cells_infused"], answer["product"]["total_viable_cells"]) == (CELLS, 2_000_000_000)
    assert answer["fractions"][0]["cart_cells_infused"] == CELLS
    assert Infusion.objects.get(pk=infused.pk).cart_cells_infused == CELLS


def test_a_query_on_the_cells_is_answered_in_millions_on_the_page_and_in_whole_cells_by_the_api(
        client, coordinator, monitor, infused):
    """The CRF page reads 350.123456 (×10⁶): the answer page takes the new value the same way. Before, the
    page took the stored unit, so "300" typed there meant 300 cells."""
    from monitoring.services.queries import query_raise

    query = query_raise(crf=infused, field="cart_cells_infused", text="Bag label says 300.5", by=monitor)
    client.force_login(coordinator)
    url = reverse("monitoring:query_detail", args=[query.pk])
    page = client.get(url).content.decode()
    assert "New value (×10⁶)" in page and re.search(r'name="new_value"[^>]*value="350.123456"', page)
    answer = client.post(url, {"action": "answer", "text": "Corrected to the bag label", "correct_value": "on",
                               "new_value": "300.5", "reason": "Bag label", "acknowledge_deviation": "on"})
    assert answer.status_code == 302, answer.content.decode()
    infused.refresh_from_db()
    assert (infused.cart_cells_infused, infused.fractions.get().cart_cells_infused) == (300_500_000, 300_500_000)
    assert str(infused.dose_cells_per_kg) == "5008333.33"  # 300.5 ×10⁶ / 60 kg, through the form's service
    second = query_raise(crf=infused, field="cart_cells_infused", text="And now?", by=monitor)
    api = APIClient()
    api.force_authenticate(coordinator)
    reply = api.post(f"/api/v1/queries/{second.pk}/answer/", {
        "text": "Whole cells", "new_value": "310000000", "reason": "Pharmacy"}, format="json")
    assert reply.status_code == 200, reply.json()
    infused.refresh_from_db()
    assert infused.cart_cells_infused == 310_000_000


def test_a_corrected_count_of_cells_reads_in_millions_on_the_querys_trail(client, coordinator, monitor, infused):
    """The trail of a query on the cells (its old → new values) reads in ×10⁶ with the unit on the query page and
    the monitor's CRF page, as the CRF page reads the value; the message keeps whole cells, and so does the API."""
    from monitoring.models import QueryMessage
    from monitoring.services.queries import query_answer, query_raise

    query = query_raise(crf=infused, field="cart_cells_infused", text="Bag label says 300.5", by=monitor)
    query_answer(query=query, by=coordinator, text="Corrected to the bag label", new_value="300500000",
                 reason="Bag label", acknowledge_deviation=True)
    correction = query.messages.get(action=QueryMessage.Action.CORRECT)
    assert (correction.old_value, correction.new_value) == ("350123456", "300500000")  # kept as stored

    client.force_login(monitor)
    page = client.get(reverse("monitoring:query_detail", args=[query.pk])).content.decode()
    assert re.search(r'<span class="diff-old">350\.123456 ×10⁶</span> → <span class="diff-new">300\.5 ×10⁶</span>',
                     page), page
    crf_page = client.get(reverse("monitoring:crf_detail", args=["infusions.infusion", infused.pk])).content.decode()
    assert "(350.123456 ×10⁶ → 300.5 ×10⁶)" in crf_page
    assert "350123456" not in page and "300500000" not in crf_page

    api = APIClient()
    api.force_authenticate(monitor)
    listed = api.get("/api/v1/queries/").json()
    [shown] = [q for q in (listed["results"] if isinstance(listed, dict) else listed) if q["id"] == query.pk]
    assert [(m["old_value"], m["new_value"]) for m in shown["messages"] if m["action"] == "correct"] == [
        ("350123456", "300500000")]


def test_only_a_count_of_cells_on_a_querys_trail_reads_in_millions():
    from crf.display import kept_text_display

    cells, weight = Infusion._meta.get_field("cart_cells_infused"), Infusion._meta.get_field("weight_kg")
    assert kept_text_display(cells, "240500000") == "240.5 ×10⁶"
    assert kept_text_display(cells, "1200000000") == "1,200 ×10⁶"
    assert kept_text_display(cells, "") == ""  # no value before
    assert kept_text_display(weight, "60.00") == "60.00"
