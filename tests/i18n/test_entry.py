"""The data-entry pages in Simplified Chinese (issue 22): patients, visits, lymphodepletion and the CAR-T
infusion, with real data, read as a Chinese coordinator reads them (Accept-Language: zh-hans). No English word
is left on a page (tests/i18n/english.py) except the data the test made; messages and headings are the
catalogues' Chinese; what is stored stays in English; a number typed in a Chinese page saves the same value.
The same pages in English are the other tests of tests/patients, tests/visits and tests/infusions."""
import datetime
import re
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model

from infusions import services
from infusions.models import Infusion, Lymphodepletion
from monitoring.models import ProtocolDeviation
from patients.models import Patient, Visit
from tests import factories
from tests.i18n.english import english_words
from tests.infusions.conftest import PLAN_173, START, full_course

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
DAY_0 = datetime.date(2026, 2, 6)
#: Ten days after day 0: D1, D4 and D7 overdue, D10 due, D14 opening within the week.
TODAY = datetime.date(2026, 2, 16)
INFUSION_PAGE = {
    "product_lot": "SZ-CART-0001", "manufacture_date": "2026-01-20", "total_viable_cells_million": "2000",
    "viability_percent": "92.5", "car_positive_percent": "50", "weight_kg": "60", "fraction_1_date": "2026-02-06",
    "fraction_1_cells_million": "300",
}


@pytest.fixture
def today():
    """The pages as a coordinator sees them on 16 February 2026 in Suzhou."""
    with time_machine.travel(datetime.datetime.combine(TODAY, datetime.time(9), tzinfo=SHANGHAI), tick=False):
        yield TODAY


@pytest.fixture
def infused(today, patient_sz, coordinator, django_capture_on_commit_callbacks):
    """Screened, baseline, lymphodepleted (1–3 February) and infused on 6 February through the services, its
    follow-up visits scheduled: every event of the timeline is of these three apps."""
    with django_capture_on_commit_callbacks(execute=True):
        factories.infuse(patient_sz, by=coordinator, day_0=DAY_0)
    patient_sz.refresh_from_db()
    return patient_sz


def data_words(site, protocol, patient: Patient | None = None) -> set[str]:
    """The words of the data the fixtures made (the site, the protocol's code, the visit codes, a screening
    number, the product lot, users' names): shown as stored, in any language."""
    words = {site.code, *site.name.split(), *re.findall(r"[A-Za-z][A-Za-z0-9]*", str(protocol)), "SZ-CART-0001",
             "Test"}
    words |= set(protocol.visit_definitions.values_list("code", flat=True))
    # The factories' users are "Test User<n>", n from a sequence that runs past any fixed range in a whole run.
    words |= set(get_user_model().objects.values_list("last_name", flat=True))
    if patient is not None:
        words.add(patient.screening_number)
    return words


def patient_words(patient: Patient) -> set[str]:
    return data_words(patient.site, patient.protocol, patient)


def zh_page(client, url: str, data: dict | None = None, *, status: int = 200) -> str:
    response = client.get(url, **ZH) if data is None else client.post(url, data, **ZH)
    assert response.status_code == status, (url, response.status_code)
    assert response["Content-Language"] == "zh-hans"
    return response.content.decode()


def assert_chinese(html: str, *, allow=(), headings=()) -> None:
    assert english_words(html, allow=allow) == []
    for heading in headings:
        assert heading in html, heading


def squashed(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- patients -------------------------------------------------------------------------------------


def test_patient_list_in_chinese(client, infused, coordinator):
    client.force_login(coordinator)
    html = zh_page(client, "/patients/")
    assert_chinese(html, allow=patient_words(infused),
                   headings=['<h1 class="h3 mb-0">患者</h1>', "筛选新患者", "受试者编号或筛选号", "共 1 例患者。"])
    assert "已回输" in html  # the status column
    assert 'title="清淋预处理: 已提交"' in html  # the progress strip


def test_screening_form_and_its_errors_in_chinese(client, protocol, site_sz, coordinator, today):
    client.force_login(coordinator)
    html = zh_page(client, "/patients/screening/new/")
    assert_chinese(html, allow=data_words(site_sz, protocol),
                   headings=["筛选与入选资格", "知情同意日期", "入选资格", "保存筛选"])
    criteria = list(protocol.eligibility_criteria.all())
    answers = {f"criterion_{c.code}": "true" if c.kind == "inclusion" else "false" for c in criteria}
    # Consent after screening: the hard check of the Screening CRF, on its field, in Chinese.
    html = zh_page(client, "/patients/screening/new/", {
        "site": site_sz.pk, "screening_date": "2026-02-10", "consent_date": "2026-02-12", **answers})
    assert "知情同意须在筛选日期当天或之前签署。" in html
    assert_chinese(html, allow=data_words(site_sz, protocol))
    # A date missing: Django's own message, in Chinese too.
    html = zh_page(client, "/patients/screening/new/", {"site": site_sz.pk, "consent_date": "2026-02-12"})
    assert "该字段是必填项。" in html
    assert not Patient.objects.exists()


def test_baseline_form_and_a_hard_check_in_chinese(client, protocol, site_sz, coordinator, today):
    patient = factories.PatientFactory(site=site_sz, protocol=protocol, with_baseline=False)
    client.force_login(coordinator)
    url = f"/patients/{patient.subject_id}/baseline/new/"
    html = zh_page(client, url)
    assert_chinese(html, allow=patient_words(patient),
                   headings=["人口学资料与体格", "入组时疾病状态", "既往异基因 HSCT", "保存基线"])
    html = zh_page(client, url, {
        "assessment_date": "2026-01-06", "sex": "F", "birth_date": "1990-05-17", "weight_kg": "400",
        "height_cm": "170", "bone_marrow_blasts_percent": "12.5", "prior_lines_of_therapy": "2",
        "prior_hsct": "false", "prior_blinatumomab": "false", "prior_inotuzumab": "false", "ph_status": "negative"})
    assert "体重 400 kg 不可能成立：必须在 2 至 250 kg 之间。" in html
    assert_chinese(html, allow=patient_words(patient))
    patient.refresh_from_db()
    assert patient.baseline_crf is None


def test_patient_timeline_in_chinese(client, infused, coordinator):
    client.force_login(coordinator)
    html = zh_page(client, f"/patients/{infused.subject_id}/")
    assert_chinese(html, allow=patient_words(infused), headings=[
        "病程", "事件", "已签署知情同意", "清淋预处理第 -5 天", "CAR-T 细胞回输", "访视 D7（第 7 天）", "筛选与入组"])
    text = squashed(html)
    assert "女，35 岁" in text  # sex and age on the summary
    assert "5.00 ×10⁶ CAR⁺ cells/kg（合计 5.00 ×10⁶/kg，批号 SZ-CART-0001）" in text
    # The cached course follows the language: English again after the Chinese page was cached.
    english = client.get(f"/patients/{infused.subject_id}/").content.decode()
    assert "Informed consent signed" in english and "已签署知情同意" not in english


# --- visits ---------------------------------------------------------------------------------------


def test_visit_calendar_dashboard_and_detail_in_chinese(client, infused, coordinator):
    client.force_login(coordinator)
    allow = patient_words(infused)
    html = zh_page(client, "/visits/calendar/?month=2026-02")
    assert_chinese(html, allow=allow, headings=["访视日历：2026年2月", "星期一", "已逾期"])
    html = zh_page(client, "/visits/")
    assert_chinese(html, allow=allow, headings=["7 天内到期及已逾期的访视", "第 7 天", "待进行"])
    html = zh_page(client, f"/patients/{infused.subject_id}/visits/")
    assert_chinese(html, allow=allow, headings=["访视窗已关闭，未录入数据", "(第 28 天)"])
    d7 = Visit.objects.get(patient=infused, definition__code="D7")
    html = zh_page(client, f"/visits/{d7.pk}/")
    assert_chinese(html, allow=allow, headings=["第 7 天", "审阅、源数据核查并签名本次访视", "未录入"])
    # Today is after the D7 window: the warning is the visit-window rule's, in Chinese.
    assert "今日录入数据：" in html


def test_reminder_email_in_the_coordinators_language(infused, coordinator, mailoutbox):
    from trial.accounts import user_language_set
    from visits.services import visit_reminders_send

    coordinator.email = "lin.mei@example.org"
    coordinator.save()
    user_language_set(user=coordinator, language="zh-hans", by=coordinator, reason="Reads Chinese first")
    assert visit_reminders_send(today=TODAY) == 1
    email = mailoutbox[0]
    assert email.subject == "访视 2026-02-16：3 次已逾期，2 次将在 7 天内到期"
    assert "已逾期（3 次）——访视窗已关闭，尚未录入数据：" in email.body
    assert "第 7 天（D7）：访视窗 2026-02-11 至 2026-02-15，目标日期 2026-02-13" in email.body
    assert english_words(f"<p>{email.body}</p>", allow=patient_words(infused) | {"EDC", "lin", "mei"}) == []


# --- lymphodepletion and the infusion -------------------------------------------------------------


def test_lymphodepletion_form_soft_check_and_a_dose_typed_in_chinese(client, patient_sz, coordinator, today):
    client.force_login(coordinator)
    url = f"/patients/{patient_sz.subject_id}/lymphodepletion/new/"
    allow = patient_words(patient_sz)
    html = zh_page(client, url)
    assert_chinese(html, allow=allow, headings=["清淋预处理", "计算计划剂量", "氟达拉滨：计划剂量", "保存清淋预处理"])
    course = {"start_date": "2026-02-01", "weight_kg": "63.4", "height_cm": "170",
              **{f"{agent}_day_m{day}_mg": str(mg) for day in (5, 4, 3) for agent, mg in PLAN_173.items()}}
    # A missed dose: the soft check, in Chinese, and nothing saved until acknowledged.
    html = zh_page(client, url, dict(course, cyclophosphamide_day_m3_mg="", save="1"))
    assert "第 −3 天 环磷酰胺：未记录给药（计划 519 mg）。" in html
    assert "方案偏离——尚未保存。" in html
    assert_chinese(html, allow=allow)
    assert not Lymphodepletion.objects.exists()
    # 51.5 mg typed on the Chinese page is 51.5 mg saved (within 10 % of the planned 52 mg).
    response = client.post(url, dict(course, fludarabine_day_m5_mg="51.5", save="1"), **ZH)
    assert response.status_code == 302
    dose = Lymphodepletion.objects.get().doses.get(study_day=-5, agent="fludarabine")
    assert dose.administered_mg == Decimal("51.5")
    html = zh_page(client, response.url)
    assert_chinese(html, allow=allow, headings=["开始（第 −5 天）", "体表面积", "在允许范围内", "51.5 mg"])


def test_infusion_form_dose_preview_and_soft_check_in_chinese(client, patient_sz, coordinator, today):
    services.lymphodepletion_record(patient=patient_sz, by=coordinator, start_date=START, weight_kg=Decimal("63.4"),
                                    height_cm=Decimal("170"), doses=full_course(PLAN_173))
    client.force_login(coordinator)
    url = f"/patients/{patient_sz.subject_id}/infusion/new/"
    allow = patient_words(patient_sz)
    html = zh_page(client, url)
    assert_chinese(html, allow=allow, headings=["CAR-T 产品与回输", "产品批次（本地制备）", "每公斤剂量：", "计算剂量"])
    # The script's words, from the page in its language (static/infusions/dose-per-kg.js).
    assert 'data-text-below="低于范围（%(range)s）"' in html
    assert 'data-text-range="方案规定 5.00–10.00"' in html and 'data-min="5.00"' in html
    # 299.4 ×10⁶ cells over 60.5 kg typed on the Chinese page: 4.95 ×10⁶/kg, below the range.
    below = dict(INFUSION_PAGE, weight_kg="60.5", fraction_1_cells_million="299.4")
    html = zh_page(client, url, dict(below, calculate="1"))
    assert "4.95 ×10⁶ cells/kg" in html and "低于范围" in html
    assert_chinese(html, allow=allow)
    html = zh_page(client, url, dict(below, save="1"))
    message = "CAR-T 剂量 4.95 ×10⁶ cells/kg 低于方案规定的 5.00–10.00 ×10⁶ cells/kg。"
    assert message in html
    assert_chinese(html, allow=allow)
    assert not Infusion.objects.exists()
    response = client.post(url, dict(below, save="1", acknowledge_deviation="on",
                                     deviation_reason="产量仅够此剂量"), **ZH)
    assert response.status_code == 302
    infusion = Infusion.objects.get()
    assert infusion.weight_kg == Decimal("60.5") and infusion.cart_cells_infused == 299_400_000
    # Stored in English (the record reads the same to every auditor); shown in Chinese.
    deviation = ProtocolDeviation.objects.get(rule="cart_dose_range")
    assert deviation.message == "CAR-T dose 4.95 ×10⁶ cells/kg is below the protocol's 5.00–10.00 ×10⁶ cells/kg."
    assert deviation.crf_label == "CAR-T product and infusion"
    stored = set(re.findall(r"[A-Za-z][A-Za-z'-]*", deviation.message))
    html = zh_page(client, response.url)
    assert_chinese(html, allow=allow | stored, headings=["回输时体重", "低于范围", "CAR-T 剂量超出方案范围"])
    # Numbers follow the language: no thousands separator in Chinese (Django's zh_Hans formats).
    # Cells in ×10⁶ as the form took them (tests/infusions/test_cells_in_millions.py).
    assert 'data-testid="cells-infused">299.4<' in html and "活细胞 2000 ×10⁶ 个" in html
    assert "2,000 ×10⁶ viable cells" in client.get(response.url).content.decode()
    html = zh_page(client, "/deviations/")
    assert_chinese(html, allow=allow | stored | {"coord_sz"},
                   headings=["<h1 class=\"h3\">方案偏离</h1>", "CAR-T 剂量超出方案范围", "CAR-T 产品与回输", "轻微"])
