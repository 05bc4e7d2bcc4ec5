"""Monitoring in Simplified Chinese (docs/i18n.md): the query pages, the CRF review with its audit trail, the
locks, exports, removal and patient review pages read in Chinese; the casebook PDF prints Chinese with a CJK font
and the same numbers as the English one; the records keep their English (an automatic query's text, a
signature's meaning, the export log) and the exports do not change with the language."""
import io
import re
import zipfile

import lxml.html
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from crf.audit import audit_trail
from crf.display import field_label
from crf.models import CrfStatus, crf_children, crf_models
from monitoring import services as monitoring_services
from monitoring import tasks
from monitoring.models import DataQuery, ExportJob, ExportRecord, Signature
from monitoring.reports import casebook_html, casebook_pdf
from patients.models import Patient, Visit
from tests.i18n.english import english_words

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
# Typed by people: stored and shown as typed, in either language.
QUERY_TEXT = "请核对不良事件的分级，与源文件中的记录不一致。"
# The full patient's free text (tests/full_patient.py), the lock's reason and the test-only form's query.
DATA_WORDS = ["Cytokine", "release", "syndrome", "SZ-CART-0001", "Clean", "Please", "check", "the", "weight",
              "Moved", "abroad", "for", "treatment", "Transfer", "letter", "on", "file", "CTCAE", "grade", "kept",
              "hospitalised", "CRS", "test", "patient"]


def _latin_words(texts) -> set[str]:
    return {word for text in texts for word in re.findall(r"[A-Za-z][A-Za-z0-9'/\-–]*", str(text))}


def _elsewhere(html: str) -> set[str]:
    """What the page takes from other apps and the layout, as it reads in zh-hans today: the words outside
    <main> (base.html, the root catalogue), the forms', fields', choices' and statuses' names of the apps that
    own them, and the audit trail's English reasons (stored record, docs/i18n.md). Each is taken as it renders
    now, so that the allowance shrinks to nothing as those catalogues are filled: monitoring's own text is
    never in it."""
    root = lxml.html.fromstring(html)
    # The values of the forms as the owning apps display them (crf.display: their vocabularies, units, lists),
    # in the body of the values and child-row tables (their headings are monitoring's).
    texts = [cell.text_content() for cell in root.xpath(
        "//table[@data-testid='crf-values' or @data-testid='crf-children']/tbody//*[self::td or self::th]")]
    for main in root.xpath("//main"):
        main.drop_tree()
    texts += english_words(lxml.html.tostring(root, encoding="unicode"))
    with translation.override("zh-hans"):
        models = list(crf_models())
        models += [child for model in crf_models() for child, _fk in crf_children(model)]
        models += [Patient, Visit]
        for model in models:
            texts += [getattr(model, "crf_label", ""), model._meta.verbose_name, model._meta.verbose_name_plural]
            for model_field in model._meta.fields:
                texts.append(field_label(model_field))
                texts += [label for _code, label in model_field.flatchoices]
        texts += [label for _code, label in CrfStatus.choices]
        for model in models:
            if not hasattr(model, "history") or model in (Patient, Visit):
                continue
            for record in model._base_manager.all():
                texts += [str(record), getattr(record, "get_status_display", str)()]
                for entry in audit_trail(record):
                    texts += [entry.action, entry.reason, entry.record]
                    texts += [str(change.label) + " " + str(change.old) + " " + str(change.new)
                              for change in entry.changes]
        for visit in Visit.objects.select_related("definition"):
            texts += [visit.definition.name, visit.get_status_display()]
        # Automatic queries other apps raise with a plain English text (shown as stored until they give one
        # in each language: monitoring.services.query_raise_automatic).
        texts += [query.text_shown for query in DataQuery.objects.filter(automatic=True)]
    words = _latin_words(texts)
    return words | {word[:1].upper() + word[1:] for word in words}  # as a heading capitalises them


def _names() -> list[str]:
    """Every user's name and username, every site's code and name, every visit's code (data the fixtures
    made)."""
    from trial.models import Site, VisitDefinition

    words = []
    for user in get_user_model().objects.all():
        words += [user.username, *user.get_full_name().split()]
    for site in Site.objects.all():
        words += [site.code, *site.name.split()]
    words += VisitDefinition.objects.values_list("code", flat=True)
    return words


def _no_english(html: str, *extra: str, page: str = "") -> str:
    """The English words left on the page (or on a part of ``page``), as one string (a failure shows them all)."""
    allow = [*DATA_WORDS, *_names(), *_elsewhere(page or html), *extra]
    return " ".join(sorted(set(english_words(html, allow=allow))))


def _get(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url, **ZH)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.fixture
def chinese_query(full_patient, monitor):
    """A query a monitor typed in Chinese on the adverse event's grade."""
    return monitoring_services.query_raise(crf=full_patient.adverse_event, field="grade", text=QUERY_TEXT, by=monitor)


def test_query_list_in_chinese(client, full_patient, chinese_query, monitor):
    html = _get(client, monitor, "/monitoring/queries/")
    assert "<h1 class=\"h3\">未关闭的质疑</h1>" in html
    assert "按研究中心" in html and "按患者" in html
    assert QUERY_TEXT in html  # as typed
    assert _no_english(html) == ""


def test_query_detail_and_an_invalid_answer_in_chinese(client, full_patient, chinese_query, coordinator):
    url = f"/monitoring/queries/{chinese_query.pk}/"
    html = _get(client, coordinator, url)
    assert f"质疑 #{chinese_query.pk}" in html
    assert "<strong>发起</strong>" in html and QUERY_TEXT in html
    assert "提交回复" in html and "更正该值" in html
    assert _no_english(html, "YYYY-MM-DD") == ""

    answer = client.post(url, {"action": "answer", "text": ""}, **ZH)
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "该字段是必填项。" in html  # Django's own message, in Chinese
    assert _no_english(html, "YYYY-MM-DD") == ""
    chinese_query.refresh_from_db()
    assert chinese_query.status == "open"


def test_crf_detail_with_its_audit_trail_in_chinese(client, full_patient, chinese_query, monitor):
    event = full_patient.adverse_event
    html = _get(client, monitor, f"/monitoring/crf/safety.adverseevent/{event.pk}/")
    for heading in ("稽查轨迹", "方案偏离", "签名", "质疑", "发起质疑", "源数据核查", "标记为已核查"):
        assert f">{heading}<" in html, heading
    assert "<th>原值</th><th>新值</th>" in html  # the audit trail's columns
    assert _no_english(html) == ""

    history = _get(client, monitor, f"/monitoring/history/safety.adverseevent/{event.pk}/")
    assert "稽查轨迹：" in history and "<th>修改原因</th>" in history
    assert _no_english(history) == ""


def test_signature_meaning_is_shown_in_the_readers_language_and_stored_in_english(
        client, full_patient, investigator):
    crs = full_patient.signature.crf
    html = _get(client, investigator, f"/monitoring/crf/{type(crs)._meta.label_lower}/{crs.pk}/")
    assert "含义：“已审阅并批准”" in html
    assert Signature.objects.get(pk=full_patient.signature.pk).meaning == "Reviewed and approved"
    # The attestation the signer reads before signing another form, in their language.
    event = full_patient.adverse_event
    html = _get(client, investigator, f"/monitoring/crf/safety.adverseevent/{event.pk}/")
    name = investigator.get_full_name()
    assert f"本人 {name} 已审阅上述数据并予以批准。" in html
    assert "再次输入密码即以“已审阅并批准”的含义签名。" in html


def test_automatic_query_is_stored_in_english_and_shown_in_chinese(client, full_patient, monitor):
    from django.utils.translation import gettext as _

    event = full_patient.adverse_event
    query = monitoring_services.query_raise_automatic(crf=event, field="onset_date", text=lambda: _(
        "Protocol deviation recorded: %(message)s Please confirm the value against the source documents.")
        % {"message": "2026-02-08"})
    assert query.text == ("Protocol deviation recorded: 2026-02-08 Please confirm the value against the source "
                          "documents.")
    html = _get(client, monitor, f"/monitoring/queries/{query.pk}/")
    assert "已记录方案偏离：2026-02-08 请对照源文件确认该值。" in html
    assert "Protocol deviation recorded" not in html
    assert "由逻辑核查于" in html


def test_locks_page_in_chinese(client, full_patient, data_manager):
    html = _get(client, data_manager, "/monitoring/locks/")
    assert "<h1 class=\"h3\">数据锁定</h1>" in html and "分析前数据库锁定" in html and "锁定整个试验" in html
    icans = full_patient.lock.crf
    assert f"{full_patient.patient.study_id} 表单 #{icans.pk} 的锁定" in html
    assert _no_english(html) == ""


def test_exports_page_in_chinese_and_the_log_keeps_english(client, full_patient, data_manager):
    client.force_login(data_manager)
    study_id = full_patient.patient.study_id
    assert client.get(f"/monitoring/patients/{study_id}/casebook.pdf", **ZH).status_code == 200
    html = _get(client, data_manager, "/monitoring/exports/")
    assert "<h1 class=\"h3\">导出</h1>" in html and "导出日志" in html and "生成病例报告表汇编" in html
    assert f"病例报告表汇编 {study_id}" in html  # the log, as the reader reads it
    assert ExportRecord.objects.get(kind="casebook").description == f"Casebook {study_id}"  # as it is kept
    assert _no_english(html, "api/v1/export/odm") == ""


def test_exports_do_not_change_with_the_language(client, full_patient, data_manager):
    def read(response) -> bytes:
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return re.sub(rb'(CreationDateTime|FileOID)="[^"]*"', b"", content)  # the ODM file's own stamp

    client.force_login(data_manager)
    for url in ("/monitoring/exports/records/queries.csv", "/monitoring/exports/data-dictionary.csv",
                "/monitoring/exports/forms/adverse_events.csv", "/monitoring/exports/odm.xml"):
        english = read(client.get(url))
        chinese = read(client.get(url, **ZH))
        assert chinese == english and len(english) > 500, url


def test_removal_page_in_chinese(client, full_patient, coordinator):
    event = full_patient.adverse_event
    url = f"/monitoring/crf/safety.adverseevent/{event.pk}/remove/"
    html = _get(client, coordinator, url)
    assert "临床数据不会被真正删除" in html and "删除原因" in html and ">取消<" in html
    assert _no_english(html) == ""
    refused = client.post(url, {"reason": ""}, **ZH)
    assert refused.status_code == 200 and "该字段是必填项。" in refused.content.decode()
    assert _no_english(refused.content.decode()) == ""


def test_patient_review_in_chinese(client, full_patient, data_manager):
    study_id = full_patient.patient.study_id
    html = _get(client, data_manager, f"/monitoring/patients/{study_id}/")
    assert f"{study_id}</a> 的表单" in html and "病例报告表汇编（PDF）" in html and "锁定该患者" in html
    assert _no_english(html) == ""


def test_visit_review_in_chinese(client, full_patient, investigator):
    visit = full_patient.visit
    html = _get(client, investigator, f"/monitoring/visits/{visit.pk}/")
    assert f"访视 {visit.definition.code} — " in html and "访视报告 (PDF)" in html and "签署整个访视" in html
    assert f"本人 {investigator.get_full_name()} 已审阅本次访视的全部表单并予以批准。" in html
    assert _no_english(html) == ""


def test_home_panel_of_open_queries_in_chinese(client, full_patient, chinese_query, coordinator):
    html = _get(client, coordinator, "/")
    panel = lxml.html.fromstring(html).xpath("//*[@data-testid='open-queries-panel']")[0]
    text = " ".join(panel.itertext())
    assert "待回复的质疑" in text and "全部未关闭的质疑（按研究中心和患者）" in text and QUERY_TEXT in text
    assert _no_english(lxml.html.tostring(panel, encoding="unicode"), page=html) == ""


# --- The casebook PDF ------------------------------------------------------------------------------------------

def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _pdf_fonts(content: bytes) -> set[str]:
    fonts = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    return fonts


def test_chinese_casebook_prints_chinese_with_a_cjk_font_and_the_same_numbers(full_patient, chinese_query,
                                                                               data_manager):
    """The issue's test: the Chinese text comes back out of the PDF — headings and a query typed in Chinese —
    drawn with Noto Sans CJK (no tofu boxes), and the doses and measures are the English casebook's."""
    with translation.override("zh-hans"):
        chinese = casebook_pdf(patient=full_patient.patient, by=data_manager)
    english = casebook_pdf(patient=full_patient.patient, by=data_manager)
    text = _pdf_text(chinese)
    study_id = full_patient.patient.study_id
    for heading in (f"病例报告表汇编 — {study_id}", "目录", "时间线", "稽查轨迹", "状态："):
        assert heading in text, heading
    assert re.search(r"第 1 页，共 \d+ 页", text)
    assert QUERY_TEXT in text.replace("\n", "")  # as the monitor typed it
    assert "□" not in text and "\ufffd" not in text
    assert "Noto-Sans-CJK-SC" in _pdf_fonts(chinese) and "DejaVu-Sans" in _pdf_fonts(chinese)
    english_text = _pdf_text(english)
    assert "Contents" in english_text and "目录" not in english_text
    # The numbers the forms hold print the same in both: weight, BSA, the two drugs' six doses (mg), the weight at
    # infusion, cells in the lot and infused (×10⁶, as the form takes them), the CAR-T dose per kg, viability and
    # the CRS temperature.
    for value in ("63.4", "1.73", "519.0", "52.0", "60.0", "2,000", "300", "5.00", "92.50", "38.6"):
        count = len(re.findall(rf"(?<![\d.,]){re.escape(value)}(?![\d.])", text))
        assert count == len(re.findall(rf"(?<![\d.,]){re.escape(value)}(?![\d.])", english_text)) > 0, value


def test_english_casebook_without_chinese_embeds_no_cjk_font(full_patient, data_manager):
    html = casebook_html(patient=full_patient.patient, by=data_manager)
    # The stylesheet names both fonts, the SVG timeline too; the PDF leaves the CJK one out when nothing needs it.
    assert 'font-family: "DejaVu Sans", "Noto Sans CJK SC", sans-serif' in html
    assert 'font-family="DejaVu Sans, Noto Sans CJK SC, sans-serif"' in html
    fonts = _pdf_fonts(casebook_pdf(patient=full_patient.patient, by=data_manager))
    assert "DejaVu-Sans" in fonts and not any("CJK" in font for font in fonts), fonts


def test_casebook_batch_is_built_in_the_language_of_the_user_who_asked(
        full_patient, data_manager, celery_eager, django_capture_on_commit_callbacks):
    with translation.override("zh-hans"), django_capture_on_commit_callbacks(execute=True):
        job = tasks.export_job_start(by=data_manager, patients=[full_patient.patient])
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE
    with zipfile.ZipFile(job.file.open("rb")) as archive:
        [name] = archive.namelist()
        text = _pdf_text(archive.read(name))
    assert f"病例报告表汇编 — {full_patient.patient.study_id}" in text and "目录" in text


def test_every_monitoring_field_is_named_in_chinese():
    """The admin's columns, filters and forms and the records' audit trails name monitoring's fields by their
    verbose names: each has one, in Chinese (only the abbreviations of the glossary stay Latin)."""
    from django.apps import apps

    untranslated = []
    with translation.override("zh-hans"):
        assert str(apps.get_app_config("monitoring").verbose_name) == "监查"
        for model in apps.get_app_config("monitoring").get_models():
            if model.__name__.startswith("Historical"):
                continue
            for model_field in [*model._meta.fields, *model._meta.many_to_many]:
                if model_field.auto_created:  # the id
                    continue
                label = str(model_field.verbose_name)
                if english_words(f"<p>{label}</p>"):
                    untranslated.append(f"{model.__name__}.{model_field.name}: {label}")
    assert untranslated == []


def test_monitoring_admin_lists_in_chinese(client, full_patient, chinese_query, django_user_model):
    """The column headings and filters of the admin's query list (a superuser sees every site)."""
    root_user = django_user_model.objects.create_superuser("root", "root@example.org", "not-used")
    html = _get(client, root_user, reverse("admin:monitoring_dataquery_changelist"))
    page = lxml.html.fromstring(html)
    headings = [th.text_content().strip() for th in page.xpath("//table[@id='result_list']/thead//th")]
    assert headings == ["患者", "表单", "字段名称", "状态", "发起时间"]
    filters = " ".join(element.text_content() for element in page.xpath("//*[@id='changelist-filter']"))
    assert "以 状态" in filters and "以 自动" in filters, filters
    change = _get(client, root_user, reverse("admin:monitoring_dataquery_change", args=[chinese_query.pk]))
    labels = [label.text_content().strip() for label in lxml.html.fromstring(change).xpath("//form//label")]
    assert "发起人:" in labels and "其他语言的内容:" in labels, labels


PROJECT_APPS = ["trial", "crf", "patients", "infusions", "safety", "outcomes", "laboratory", "monitoring", "visits",
                "submission", "home"]


def test_every_app_is_named_in_chinese():
    """The admin heads each app's models with the app's name (AppConfig.verbose_name): each is marked and
    translated in the app's own catalogue (Django's default, the label capitalised, is English only)."""
    from django.apps import apps

    with translation.override("zh-hans"):
        names = {label: str(apps.get_app_config(label).verbose_name) for label in PROJECT_APPS}
    assert names == {
        "trial": "临床试验", "crf": "病例报告表", "patients": "患者", "infusions": "回输", "safety": "安全性",
        "outcomes": "结局", "laboratory": "实验室检查", "monitoring": "监查", "visits": "访视安排",
        "submission": names["submission"], "home": "首页",
    }
    assert not english_words(f"<p>{names['submission']}</p>"), names["submission"]


def test_admin_index_names_the_apps_in_chinese(client, django_user_model):
    """The admin's index (a superuser sees every app with models in the admin) heads each of ours in Chinese
    (the third-party apps, axes and otp_totp, name themselves)."""
    root_user = django_user_model.objects.create_superuser("root", "root@example.org", "not-used")
    page = lxml.html.fromstring(_get(client, root_user, reverse("admin:index")))
    captions = {
        label: " ".join(caption.text_content().strip() for caption in page.xpath(
            f"//div[@id='content-main']/div[contains(concat(' ', @class, ' '), ' app-{label} ')]//caption"))
        for label in PROJECT_APPS
    }
    assert captions == {
        "trial": "临床试验", "crf": "", "patients": "患者", "infusions": "回输", "safety": "安全性", "outcomes": "结局",
        "laboratory": "实验室检查", "monitoring": "监查", "visits": "", "submission": "", "home": "",
    }
