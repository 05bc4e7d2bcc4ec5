"""The outcomes and submission pages, the endpoints PDF and the figures in Simplified Chinese (docs/i18n.md).

Each page is read as a Chinese reader gets it (Accept-Language: zh-hans): what the app renders (<title> and <main>;
base.html around it is the root catalogue's) has no English words outside the allow-list (tests/i18n/english.py),
the CRF floor's shared fields and the data the test made, and shows the expected Chinese headings and messages.
The endpoints are those of the endpoint tests' small trial (tests/outcomes/test_endpoints.py), so that every
estimate shows.
"""
import datetime
import io
import re
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from outcomes import reports, statistics
from submission import metadata as md
from submission.models import SubmissionPackage
from tests.i18n.english import ZH, chinese_page
from tests.outcomes.test_endpoints import small_trial  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en-gb"}


def _names(*users) -> list[str]:
    """The words of a user's name (a PDF names who it was produced for): data, not interface."""
    return [word for user in users for word in (user.first_name, user.last_name, user.username)]


def _words(*texts: str) -> list[str]:
    return [word for text in texts for word in re.findall(r"[A-Za-z][A-Za-z0-9]*", text)]


# The CRF pages ----------------------------------------------------------------------------------------------------


def test_response_assessment_form_in_chinese(client, full_patient, coordinator):
    patient = full_patient.patient
    assessment = full_patient.crfs["outcomes.responseassessment"]
    client.force_login(coordinator)
    allow = _names(coordinator)

    stored = chinese_page(client, assessment.get_absolute_url(), allow=allow)
    assert '<h1 class="h3">疗效评估' in stored
    assert "<strong>完全缓解 (CR)</strong>" in stored  # the derived response, a choice label
    assert "骨髓原始细胞 (%)" in stored and "外周血原始细胞" in stored  # field labels
    assert "显示推导的疗效" in stored

    new_url = reverse("outcomes:response_assessment_new", args=[patient.study_id])
    assert "形态学检查结果；未评估时留空。" in chinese_page(client, new_url, allow=allow)  # a help text

    # A marrow in remission without its counts: the form's own check, in Chinese; 120 % blasts: Django's.
    refused = chinese_page(client, new_url, allow=allow, data={
        "version": 0, "assessment_date": "2026-01-01", "bone_marrow_blasts_percent": "1",
        "circulating_blasts": "false", "extramedullary_disease": "false", "karyotype_result": "not_done",
        "molecular_result": "not_done"})
    assert refused.count("骨髓已达缓解：请录入此项计数，以区分 CR 与 CRi。") == 2  # ANC and platelets
    too_many = chinese_page(client, new_url, allow=allow, data={
        "version": 0, "assessment_date": "2026-01-01", "bone_marrow_blasts_percent": "120",
        "karyotype_result": "not_done", "molecular_result": "not_done"})
    assert "确保该值小于或等于100。" in too_many


def test_derived_response_preview_and_mrd_reason_in_chinese_while_the_stored_reason_stays_english(
        client, full_patient, coordinator):
    patient = full_patient.patient
    client.force_login(coordinator)
    values = {"version": 0, "assessment_date": (patient.infusion_date + datetime.timedelta(days=29)).isoformat(),
              "bone_marrow_blasts_percent": "1", "circulating_blasts": "false", "extramedullary_disease": "false",
              "anc_per_ul": "800", "platelets_per_ul": "150000", "mrd_flow_percent": "0",
              "karyotype_result": "not_done", "molecular_result": "not_done", "preview": "1"}
    preview = chinese_page(client, reverse("outcomes:response_assessment_new", args=[patient.study_id]),
                           allow=_names(coordinator), data=values)
    assert ("推导的疗效：<strong>完全缓解伴血液学不完全恢复 (CRi)</strong> · "
            "MRD 阴性：<strong>无法评价</strong>") in preview
    assert "未记录检测灵敏度：判定 MRD 阴性需要灵敏度达到 0.01 % 或更高的检测。" in preview

    from outcomes.models import ResponseAssessment
    from outcomes.services import response_assessment_save

    with translation.override("zh-hans"):  # saved from a Chinese page: the record is English all the same
        saved = response_assessment_save(patient=patient, by=coordinator, values={
            "assessment_date": patient.infusion_date + datetime.timedelta(days=29), "bone_marrow_blasts_percent": 1,
            "circulating_blasts": False, "extramedullary_disease": False, "anc_per_ul": 800,
            "platelets_per_ul": 150_000, "mrd_flow_percent": 0})
    saved = ResponseAssessment.objects.get(pk=saved.pk)
    assert saved.mrd_reason.startswith("Assay sensitivity not recorded: MRD-negative needs")
    page = client.get(saved.get_absolute_url(), **ZH).content.decode()
    assert "(未记录检测灵敏度：判定 MRD 阴性需要灵敏度达到 0.01 % 或更高的检测。)" in page
    english = client.get(saved.get_absolute_url(), **EN).content.decode()
    assert "(Assay sensitivity not recorded: MRD-negative needs an assay sensitive to 0.01 % or finer.)" in english


def test_follow_up_form_in_chinese(client, full_patient, coordinator):
    patient = full_patient.patient
    follow_up = full_patient.crfs["outcomes.followup"]
    client.force_login(coordinator)
    allow = _names(coordinator)

    stored = chinese_page(client, follow_up.get_absolute_url(), allow=allow)
    assert '<h1 class="h3">随访' in stored
    assert "<strong>存活，处于缓解</strong>" in stored
    assert "复发时 CD19 状态" in stored and "CD19 阴性" in stored  # a label and a choice

    new_url = reverse("outcomes:follow_up_new", args=[patient.study_id])
    assert "记录死亡后，患者即退出研究。" in chinese_page(client, new_url, allow=allow)
    # Dead without the date of death: the service's hard check, shown on its field in Chinese.
    contact = patient.infusion_date + datetime.timedelta(days=90)
    refused = chinese_page(client, new_url, allow=allow, data={
        "version": 0, "contact_date": contact.isoformat(), "follow_up_status": "dead"})
    assert "请填写死亡日期。" in refused


def test_end_of_study_form_in_chinese(client, full_patient, coordinator):
    patient = full_patient.patient
    end = full_patient.crfs["outcomes.endofstudy"]
    client.force_login(coordinator)
    # The free text the test patient was given is shown as typed.
    allow = _names(coordinator) + _words(end.end_reason_other, end.comments)

    # The new-form address of a patient who has one leads to it.
    new = client.get(reverse("outcomes:end_of_study_new", args=[patient.study_id]), **ZH)
    assert new.status_code == 302 and new["Location"] == end.get_absolute_url()
    stored = chinese_page(client, end.get_absolute_url(), allow=allow)
    assert '<h1 class="h3">研究结束' in stored
    assert "<strong>其他：Moved abroad for treatment</strong>" in stored
    assert "撤回知情同意" in stored and "完成 3 年随访" in stored  # the reasons to choose from

    refused = chinese_page(client, end.get_absolute_url(), allow=allow, data={
        "version": end.version, "end_date": end.end_date.isoformat(), "end_reason": "other", "end_reason_other": "",
        "reason": "需要更正"})
    assert "请说明该患者研究结束的原因。" in refused
    patient.refresh_from_db()
    assert patient.off_study_reason == "Other: Moved abroad for treatment"  # stored in English


# The endpoints ----------------------------------------------------------------------------------------------------


def test_endpoints_page_in_chinese_with_the_estimates(client, investigator, small_trial):  # noqa: F811
    client.force_login(investigator)
    page = chinese_page(client, reverse("outcomes:endpoints"), allow=_names(investigator))
    assert '<h1 class="h3">终点 <small class="text-muted">您可查看的回输患者 6 例</small></h1>' in page
    assert "<td>总生存 (OS)</td><td>全部回输患者 (ITT)</td>" in page
    assert "<td>无白血病生存 (LFS)</td><td>缓解患者（1 个月时 CR/CRi）</td>" in page
    assert "<h2 class=\"h6\">定义</h2>" in page and "<dt>删失</dt>" in page
    assert "<strong>66.7 %</strong>" in page  # the CR rate, 4 of 6
    assert "62.5 %" in page  # OS at 12 months, the same number as in English
    assert 'alt="总生存、无事件生存和无白血病生存，数据截止日期' in page

    future = (timezone.localdate() + datetime.timedelta(days=2)).isoformat()
    refused = chinese_page(client, reverse("outcomes:endpoints") + f"?cutoff={future}",
                           allow=_names(investigator), status=400)
    assert f"数据截止日期（{future}）不能晚于今天（" in refused


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _pdf_fonts(content: bytes) -> set[str]:
    """The embedded fonts' names without their subset prefix (ABCDEF+DejaVu-Sans)."""
    from pypdf import PdfReader

    return {str(font.get_object()["/BaseFont"]).lstrip("/").split("+")[-1]
            for page in PdfReader(io.BytesIO(content)).pages
            for font in (page["/Resources"].get("/Font") or {}).values()}


def test_endpoints_pdf_in_chinese_holds_the_english_numbers(client, investigator, small_trial):  # noqa: F811
    client.force_login(investigator)
    chinese = client.get(reverse("outcomes:endpoints_pdf"), **ZH)
    english = client.get(reverse("outcomes:endpoints_pdf"), **EN)
    assert chinese["Content-Type"] == english["Content-Type"] == "application/pdf"
    zh_text, en_text = _pdf_text(chinese.content), _pdf_text(english.content)
    # The Chinese is text in the PDF (a CJK font embedded), not boxes: it is read back.
    for heading in ("试验终点", "总生存", "无白血病生存", "累积复发率", "缓解持续时间", "每例患者的病程", "第 1 页"):
        assert heading in zh_text, heading
    assert "Overall survival" in en_text and "总生存" not in en_text
    # Latin in DejaVu Sans, Chinese in Noto Sans CJK SC (the PDF's CSS), embedded as subsets.
    assert {"DejaVu-Sans", "Noto-Sans-CJK-SC"} <= _pdf_fonts(chinese.content)
    # The same numbers: every percentage and median of the tables (a narrow English cell may break "1.2 %" over
    # two lines, and the columns may be read back in another order, hence the counts).
    numbers = re.compile(r"\d+\.\d(?=\s*%|\s*\(| –|\))")
    assert Counter(numbers.findall(zh_text)) == Counter(numbers.findall(en_text))
    assert {"66.7", "62.5", "22.3", "95.7", "9.9"} <= set(numbers.findall(zh_text))


def test_figures_are_drawn_in_the_active_language(small_trial):  # noqa: F811
    from patients.models import Patient

    courses = statistics.at_cutoff(reports.patient_courses(Patient.objects.all()), timezone.localdate())
    cutoff = timezone.localdate()
    with translation.override("zh-hans"):
        chinese = reports.figure_drawing(courses=courses, name="survival", censor_at_hsct=False, cutoff=cutoff)
    english = reports.figure_drawing(courses=courses, name="survival", censor_at_hsct=False, cutoff=cutoff)
    zh_axes, zh_table = chinese.axes
    en_axes, en_table = english.axes
    assert zh_axes.get_xlabel() == "CAR-T 细胞回输后月数"
    assert zh_axes.get_ylabel() == "概率"
    assert zh_table.get_title(loc="left") == "风险人数"
    assert [text.get_text() for text in zh_axes.get_legend().get_texts()] == [
        "总生存 (OS)（全部回输患者）", "无事件生存 (EFS)（全部回输患者）", "无白血病生存 (LFS)（缓解患者）"]
    assert zh_axes.get_title() == f"总生存、无事件生存和无白血病生存（数据截止日期 {cutoff.isoformat()}）"
    # English unchanged.
    assert en_axes.get_xlabel() == "Months since CAR-T infusion"
    assert en_axes.get_ylabel() == "Probability"
    assert en_table.get_title(loc="left") == "Number at risk"
    assert en_axes.get_legend().get_texts()[0].get_text() == "Overall survival (all infused)"
    # The curves are the same numbers in both languages.
    assert [list(line.get_ydata()) for line in zh_axes.lines] == [list(line.get_ydata()) for line in en_axes.lines]

    # The relapse and swimmer figures, in Chinese too.
    from outcomes import figures

    with translation.override("zh-hans"):
        relapse = reports.figure_drawing(courses=courses, name="relapse", censor_at_hsct=True, cutoff=cutoff)
        swimmer = figures.swimmer_drawing(courses, cutoff)
    axes, table = relapse.axes
    assert axes.get_title().endswith(f"（数据截止日期 {cutoff.isoformat()}，在异基因 HSCT 时删失）")
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["复发", "未复发死亡"]
    assert [label.get_text() for label in table.get_yticklabels()] == ["缓解患者"]
    assert swimmer.axes[0].get_title() == f"截至 {cutoff.isoformat()} 的患者随访"
    assert "失访" in [text.get_text() for text in swimmer.legends[0].get_texts()]


def test_cached_figures_never_mix_languages(client, investigator, small_trial, monkeypatch):  # noqa: F811
    """A figure drawn for a Chinese reader is cached for Chinese readers only: the English reader after them
    gets a figure drawn in English, and each language is then answered from its own cache entry."""
    from outcomes import figures

    drawn, render = [], figures._render

    def keep(figure, *, format):
        drawn.append(figure)
        return render(figure, format=format)

    monkeypatch.setattr(figures, "_render", keep)
    client.force_login(investigator)
    url = reverse("outcomes:endpoint_figure", args=["survival"])
    chinese = client.get(url, **ZH).content
    english = client.get(url, **EN).content
    assert [figure.axes[0].get_xlabel() for figure in drawn] == ["CAR-T 细胞回输后月数", "Months since CAR-T infusion"]
    assert chinese != english
    assert client.get(url, **ZH).content == chinese
    assert client.get(url, **EN).content == english
    assert len(drawn) == 2  # both answered from the cache the second time
    # The numbers are cached once for both languages: the page in either language shows the same estimates.
    zh_page = client.get(reverse("outcomes:endpoints"), **ZH)
    en_page = client.get(reverse("outcomes:endpoints"), **EN)
    assert zh_page.context["endpoints"] == en_page.context["endpoints"]


# Submission -------------------------------------------------------------------------------------------------------

# The CDISC datasets stay English (a regulatory submission is): their names and labels show as they are, and so
# do the API paths the page names.
CDISC_WORDS = _words(*(f"{d.name} {d.label}" for d in (*md.SDTM_DATASETS, *md.ADAM_DATASETS))) + [
    "api", "v1", "export", "sdtm", "adam", "zip", "cutoff", "YYYY-MM-DD", "SDTMIG", "ADaMIG"]


def test_submission_page_in_chinese(client, data_manager):
    client.force_login(data_manager)
    allow = _names(data_manager) + CDISC_WORDS
    index = chinese_page(client, reverse("submission:index"), allow=allow)
    assert '<h1 class="h3">申报数据集 (CDISC)</h1>' in index
    assert "生成数据包" in index and "SDTM 列表数据集 (SDTMIG 3.4)" in index

    future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    refused = chinese_page(client, reverse("submission:index"), allow=allow, status=400,
                           data={"standard": "sdtm", "cutoff": future})
    assert f"数据截止日期（{future}）不能晚于今天（" in refused

    package = SubmissionPackage.objects.create(requested_by=data_manager, standard="adam", cutoff=datetime.date(
        2026, 1, 31), total_steps=5, done_steps=2, status=SubmissionPackage.Status.RUNNING)
    detail = chinese_page(client, reverse("submission:package", args=[package.pk]),
                          allow=allow + [package.filename])
    assert f'<h1 class="h3">ADaM 分析数据集 (ADaMIG 1.3) — 数据包 #{package.pk}</h1>' in detail
    assert "已完成 2 / 5 步（先读取记录，再逐个生成数据集）— 40 %。" in detail
    assert "<strong data-testid=\"package-status\">生成中</strong>" in detail
    # A package's status is a word of its own ("Pending" is also the endpoints table's column, 待定).
    SubmissionPackage.objects.create(requested_by=data_manager, standard="sdtm", cutoff=datetime.date(2026, 2, 1))
    listed = chinese_page(client, reverse("submission:index"), allow=allow)
    assert "截止日期 2026-02-01 — 等待中</li>" in listed and "截止日期 2026-01-31 — 生成中</li>" in listed
