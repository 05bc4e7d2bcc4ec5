"""The safety and laboratory pages, figures and grading explanations in Simplified Chinese (issue 22, docs/i18n.md).

Each page is read in zh-hans with the full patient's data (tests/full_patient.py): no English word is left
outside the allow-list (tests/i18n/english.py) and the data the test made, and the page shows its Chinese
heading. CTCAE terms may stay bilingual ("贫血 (Anemia)", docs/i18n.md), so their English words are allowed.
"""
import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from laboratory import cohort
from laboratory.figures import patient_kinetics_drawing
from laboratory.rules import Sample
from safety.plots import swimmer_drawing
from safety.rules import CTCAE_TERMS, CrsInput, crs_course, grading_rule_display, icans_rule
from tests.i18n.english import ZH, chinese_page, english_words

pytestmark = pytest.mark.django_db

#: The CTCAE terms' words (shown beside their Chinese name) and the study's own names in the pages.
CTCAE_WORDS = sorted({word for term, _soc in CTCAE_TERMS for word in re.split(r"[\s\-]+", term)})


def _chinese_page(client, url, *, allow=(), **request) -> str:
    """`chinese_page` with the CTCAE terms' words allowed: they stand beside their Chinese names."""
    return chinese_page(client, url, allow=[*CTCAE_WORDS, *allow], **request)


@pytest.fixture
def zh_client(client, full_patient, coordinator):
    client.force_login(coordinator)
    return client


def test_new_adverse_event_form_in_chinese(zh_client, full_patient):
    html = _chinese_page(zh_client, reverse("safety:adverse_events_new", args=[full_patient.patient.study_id]))
    assert "<h1 class=\"h3\">不良事件 " in html
    assert "与清淋预处理的相关性" in html  # a field label (the model's verbose name)
    assert "需要住院治疗或延长住院时间" in html  # a seriousness criterion
    assert '<option value="Anemia">贫血 (Anemia) · 血液及淋巴系统疾病</option>' in html  # the term list


def test_invalid_adverse_event_shows_chinese_errors(zh_client, full_patient):
    patient = full_patient.patient
    html = _chinese_page(zh_client, reverse("safety:adverse_events_new", args=[patient.study_id]),
                         data={"term": "Anemia", "grade": "5", "onset_date": "2026-02-10", "serious": "on",
                               "relatedness_cart": "possible", "relatedness_lymphodepletion": "not_related",
                               "action_taken": "none", "outcome": "recovering"})
    assert "5 级事件即死亡：请填写死亡日期。" in html
    assert "5 级事件的转归应为“死亡”。" in html
    assert "请填写研究中心获知该严重事件的时间：24 小时时限自此起算。" in html


def test_stored_adverse_event_with_its_sae_and_susar_boxes_in_chinese(zh_client, full_patient, coordinator):
    event = full_patient.adverse_event
    # Data: who sent the SAE report, and the protocol the event is recorded under.
    allow = re.findall(r"[A-Za-z][A-Za-z0-9]*", f"{coordinator.get_full_name()} {event.protocol}")
    html = _chinese_page(zh_client, event.get_absolute_url(), allow=allow)
    assert "严重不良事件：报告" in html
    assert "预期性与 SUSAR" in html
    assert "细胞因子释放综合征 (Cytokine release syndrome)" in html


def test_crs_form_and_its_grade_preview_in_chinese(zh_client, full_patient):
    url = reverse("safety:crs_assessment_new", args=[full_patient.patient.study_id])
    html = _chinese_page(zh_client, url)
    assert "ASTCT 2019 CRS 分级" in html
    assert "需要一种血管活性药物（联用或不联用血管加压素）" in html  # a hypotension choice
    preview = _chinese_page(zh_client, url, data={
        "assessment_date": "2026-02-09", "max_temperature_c": "39.4", "hypotension": "one_vasopressor",
        "hypoxia": "low_flow", "action": "check"})
    assert 'data-testid="computed-grade">CRS 3 级<' in preview
    assert "确认 3 级并保存" in preview
    # The day-2 fever opened episode 1: the rule is shown in Chinese, with the stale notice for the script.
    assert ("CRS 第 1 次发作（起始 2026-02-08）期间发热 39.4 °C（≥ 38.0 °C）："
            "按发热、低血压和低氧中最重者分级") in preview
    assert 'data-stale-text="输入已更改：保存前请重新核查分级。"' in preview


def test_stored_crs_assessment_shows_its_rule_in_chinese_and_stores_english(zh_client, full_patient):
    crs = full_patient.crf("safety.crsassessment")
    html = _chinese_page(zh_client, crs.get_absolute_url())
    assert "CRS 第 1 次发作（起始 2026-02-08）期间发热 38.6 °C" in html
    assert "<strong>CRS 1 级</strong> (发热)" in html  # the grade and the domain that set it
    crs.refresh_from_db()
    assert crs.grading_rule.startswith("Fever 38.6 °C (≥ 38.0 °C) within CRS episode 1")  # the record: English


def test_icans_form_and_its_grade_preview_in_chinese(zh_client, full_patient):
    url = reverse("safety:icans_assessment_new", args=[full_patient.patient.study_id])
    html = _chinese_page(zh_client, url)
    assert "ASTCT 2019 ICANS 分级" in html
    assert "定向力（年、月、城市、医院）" in html
    preview = _chinese_page(zh_client, url, data={
        "assessment_date": "2026-02-10", "ice_orientation": "3", "ice_naming": "3", "ice_following_commands": "1",
        "ice_writing": "1", "ice_attention": "1", "consciousness": "voice", "seizure": "none",
        "cerebral_edema": "none", "action": "check"})
    assert 'data-testid="computed-grade">ICANS 2 级<' in preview
    assert "（意识）" in preview  # the driver
    assert "ASTCT 2019 ICANS：取最重维度；脑病按 ICE 评估（评估日年龄 " in preview


def test_patient_safety_page_in_chinese(zh_client, full_patient):
    html = _chinese_page(zh_client, reverse("safety:patient", args=[full_patient.patient.study_id]))
    assert "细胞因子释放综合征 (CRS)" in html
    assert "免疫效应细胞相关神经毒性综合征 (ICANS)" in html
    assert "CRS 发作" in html
    assert "无发热、低血压或低氧" not in html  # the day-2 form had a fever: its own rule is shown
    assert "按发热、低血压和低氧中最重者分级（ASTCT 2019）" in html


def test_safety_summary_in_chinese(zh_client, full_patient):
    html = _chinese_page(zh_client, reverse("safety:summary"))
    assert "<h1 class=\"h3\">安全性汇总</h1>" in html
    assert "按 CTCAE 术语和最重分级统计的不良事件" in html
    assert "泳道图" in html


def test_laboratory_pages_in_chinese(zh_client, full_patient):
    patient = full_patient.patient
    # D-dimer's "D" (D-二聚体) and FEU, the unit of D-dimer (mg/L FEU), are the lab's own names.
    allow = ["D", "FEU"]
    new = _chinese_page(zh_client, reverse("laboratory:laboratory_new", args=[patient.study_id]), allow=allow)
    assert "<h1 class=\"h3\">实验室检查结果 " in new
    assert "中性粒细胞绝对计数 (ANC)" in new
    stored = _chinese_page(zh_client, full_patient.crf("laboratory.laboratory").get_absolute_url(), allow=allow)
    assert "<td>偏低</td>" in stored  # ANC 400/µL: the L flag
    invalid = _chinese_page(zh_client, reverse("laboratory:laboratory_new", args=[patient.study_id]), allow=allow,
                            data={"collection_date": "2026-02-20", "hemoglobin_value": "95",
                                                 "hemoglobin_unit": "g/dL"})
    assert "血红蛋白 95 g/dL 不可能（应在 0 至 25 g/dL 之间）。" in invalid


def test_kinetics_pages_in_chinese(zh_client, full_patient):
    patient = full_patient.patient
    html = _chinese_page(zh_client, reverse("laboratory:patient_kinetics", args=[patient.study_id]))
    assert "<h1 class=\"h3\">CAR-T 细胞动力学 " in html
    assert "早期 ICAHT（第 0–30 天）" in html
    assert "B 细胞缺乏" in html
    cohort_page = _chinese_page(zh_client, reverse("laboratory:cohort_kinetics"))
    assert "按疗效分组的 CAR-T 细胞动力学" in cohort_page
    assert "完全缓解 (CR/CRi)：1 例患者" in cohort_page


def test_astct_explanations_are_stored_in_english_and_shown_in_chinese():
    course = crs_course([
        CrsInput("a", datetime.date(2026, 2, 1), 39.0, "one_vasopressor", "none"),
        CrsInput("b", datetime.date(2026, 2, 3), 37.0, "none", "low_flow",
                 tocilizumab_given_on=datetime.date(2026, 2, 2)),
    ])
    rule = course.gradings["b"].rule
    assert rule == ("Afebrile within CRS episode 1 (onset 2026-02-01) after tocilizumab on 2026-02-02: fever no "
                    "longer required, graded by hypotension and hypoxia (ASTCT 2019).")
    with translation.override("zh-hans"):
        assert grading_rule_display(rule) == (
            "CRS 第 1 次发作（起始 2026-02-01）期间，于 2026-02-02 使用托珠单抗后无发热："
            "不再要求发热，按低血压和低氧分级（ASTCT 2019）。")
        child = icans_rule(age_years=9, score_done=False)
        assert grading_rule_display(child).startswith(
            "ASTCT 2019 ICANS：取最重维度；脑病按 CAPD 评估（评估日年龄 9 岁，未满 12 岁）；")
        assert grading_rule_display("An older wording") == "An older wording"  # unknown text: as stored
    assert grading_rule_display(rule) == rule  # English: as stored


def _texts(figure) -> list[str]:
    found = []
    for axes in figure.axes:
        found += [axes.get_title(), axes.get_xlabel(), axes.get_ylabel()]
        legend = axes.get_legend()
        if legend is not None:
            found += [text.get_text() for text in legend.get_texts()]
    for legend in figure.legends:
        found += [text.get_text() for text in legend.get_texts()]
    return found


def test_swimmer_plot_is_drawn_in_the_readers_language():
    lanes = [("SZ-001", [(2, 1), (3, 2)], [(5, 1)])]
    english = _texts(swimmer_drawing(lanes))
    assert "Study day (0 = CAR-T infusion)" in english
    assert "CRS (upper band) and ICANS (lower band) by ASTCT grade, days 0–28" in english
    assert "Grade 2" in english
    with translation.override("zh-hans"):
        chinese = _texts(swimmer_drawing(lanes))
    assert "研究日（0 = CAR-T 回输）" in chinese
    assert "CRS（上带）与 ICANS（下带）的 ASTCT 分级，第 0–28 天" in chinese
    assert "2 级" in chinese
    assert _texts(swimmer_drawing(lanes)) == english  # drawn again in English: unchanged


def test_kinetics_figure_is_drawn_in_the_readers_language():
    series = {"CAR transgene (qPCR)": ([Sample(7, Decimal(5000)), Sample(28, Decimal(10))], Decimal(50),
                                       "copies/µg")}
    english = _texts(patient_kinetics_drawing(series))
    assert english == ["CAR transgene (qPCR)", "Study day (0 = infusion)", "copies/µg", "measured", "below LLOQ",
                       "LLOQ 50"]
    with translation.override("zh-hans"):
        chinese = _texts(patient_kinetics_drawing(series))
    assert chinese[1:] == ["研究日（0 = 回输）", "copies/µg", "实测值", "低于 LLOQ", "LLOQ 50"]


def test_cached_figures_differ_by_language(client, full_patient, coordinator):
    """The figures are cached by data version and language: a Chinese plot is never served to an English
    reader, and each language's is served again from its own entry."""
    client.force_login(coordinator)
    url = reverse("laboratory:patient_kinetics_png", args=[full_patient.patient.study_id])
    english = client.get(url).content
    chinese = client.get(url, **ZH).content
    assert english[:8] == chinese[:8] == b"\x89PNG\r\n\x1a\n"
    assert english != chinese
    assert client.get(url).content == english
    assert client.get(url, **ZH).content == chinese
    with translation.override("en-gb"):
        cohort_english = cohort.figure_for(coordinator)
    with translation.override("zh-hans"):
        cohort_chinese = cohort.figure_for(coordinator)
    assert cohort_english != cohort_chinese
    with translation.override("en-gb"):
        assert cohort.figure_for(coordinator) == cohort_english


def test_swimmer_png_follows_the_request_language(client, full_patient, coordinator):
    client.force_login(coordinator)
    url = reverse("safety:swimmer_png")
    english, chinese = client.get(url), client.get(url, **ZH)
    assert english["Content-Type"] == chinese["Content-Type"] == "image/png"
    assert english.content != chinese.content
    assert "Accept-Language" in chinese["Vary"]


def test_the_overdue_sae_email_reaches_each_reader_in_their_language(full_patient, investigator, monitor,
                                                                      coordinator, mailoutbox, monkeypatch):
    """A Chinese-reading investigator gets the e-mail in Chinese, the monitor (no choice made) in English. The
    language is the user's own (the profile of docs/i18n.md, read by `_user_language`), stubbed here."""
    from safety import services
    from safety.models import AdverseEvent

    for user, email in ((investigator, "investigator@example.org"), (monitor, "monitor@example.org")):
        user.email = email
        user.save(update_fields=["email"])
    subject = full_patient.patient.study_id
    default = services._user_language
    monkeypatch.setattr(services, "_user_language",
                        lambda user: "zh-hans" if user == investigator else default(user))
    aware = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    event = services.adverse_event_save(event=AdverseEvent(
        patient=full_patient.patient, term="Febrile neutropenia", grade=3, onset_date=aware.date(), serious=True,
        seriousness_criteria=["hospitalisation"], aware_at=aware, relatedness_cart="possible",
        relatedness_lymphodepletion="probable", action_taken="treatment", outcome="recovering"), by=coordinator)
    assert services.sae_overdue_notify() == [event]
    by_recipient = {tuple(mail.to): mail for mail in mailoutbox}
    chinese = by_recipient[(investigator.email,)]
    assert chinese.subject == f"SAE 报告逾期：{subject} Febrile neutropenia"
    assert f"{subject} 的严重不良事件 Febrile neutropenia（3 级）的首次报告应于" in chinese.body
    english = by_recipient[(monitor.email,)]
    assert english.subject == f"Overdue SAE report: {subject} Febrile neutropenia"
    assert english.body.startswith("The initial report of the serious adverse event Febrile neutropenia (grade 3)")


def test_home_panels_of_sae_and_susar_clocks_in_chinese(rf, full_patient, investigator, coordinator):
    """An overdue SAE report and a pending SUSAR report on an investigator's home page, in Chinese."""
    from django.template.loader import render_to_string

    from safety import services
    from safety.home import home_panels
    from safety.models import AdverseEvent

    aware = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    services.adverse_event_save(event=AdverseEvent(
        patient=full_patient.patient, term="Hepatic failure", grade=4, onset_date=aware.date(), serious=True,
        seriousness_criteria=["life_threatening"], aware_at=aware, relatedness_cart="probable",
        relatedness_lymphodepletion="not_related", action_taken="treatment", outcome="recovering"), by=coordinator)
    request = rf.get("/")
    request.user = investigator
    with translation.override("zh-hans"):
        html = "".join(render_to_string(template, {"panel": panel}) for template, panel in
                       home_panels(request, ["investigator"]))
    assert english_words(html, allow=CTCAE_WORDS) == []
    assert "逾期的 SAE 报告" in html
    assert "肝衰竭 (Hepatic failure)（4 级）" in html
    assert "SUSAR 快速报告" in html
    assert "（7 天）" in html  # life-threatening: 7 calendar days (ICH E2A)


def test_soft_check_message_is_read_in_the_language_of_the_moment(full_patient):
    """A soft check's message is made once and read twice: in the user's language on the form, in English for
    the record (the deviation and its query store the text they read under English)."""
    from safety.services import crs_assessment_soft_checks

    crs = full_patient.crf("safety.crsassessment")
    crs.tocilizumab_dose_mg, crs.tocilizumab_given_on = Decimal("900"), crs.assessment_date
    [check] = [check for check in crs_assessment_soft_checks(assessment=crs) if check.rule == "tocilizumab_max_dose"]
    with translation.override("zh-hans"):
        assert str(check.message) == "托珠单抗 900 mg 超过单次最大剂量 800 mg。"
    with translation.override("en-gb"):
        assert str(check.message) == "Tocilizumab 900 mg is above the 800 mg maximum single dose."
