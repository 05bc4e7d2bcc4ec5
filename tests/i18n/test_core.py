"""The frame of every page in both languages (docs/i18n.md): the login page and its switch, who sees which
language (a user's own choice, then the switch's cookie, then Accept-Language), the home and administration pages
of an administrator in Chinese, dates in words, the API's messages, and the demo's users of both languages."""
import datetime
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory
from tests.i18n.english import english_words
from trial import accounts
from trial.models import AccountEvent, SiteMembership, UserProfile

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-gb"}
# The language switch names each language in itself, so that a reader finds theirs in either language.
SWITCH = ["English"]
# Panels other apps add to the home page (monitoring, safety): their own tests cover their words.
OTHER_APPS_PANELS = ("open-queries-panel", "sae-overdue", "susar-clocks")


def html_lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def without_panels(html: str, testids=OTHER_APPS_PANELS) -> str:
    import lxml.html

    root = lxml.html.fromstring(html)
    for testid in testids:
        for element in root.xpath(f'//*[@data-testid="{testid}"]'):
            element.drop_tree()
    return lxml.html.tostring(root, encoding="unicode")


def words_of(*texts) -> list[str]:
    """The Latin words of data a test made (names, e-mail addresses), for english_words' allow."""
    return [word for text in texts for word in re.findall(r"[A-Za-z][A-Za-z0-9µ²³⁶⁹\-–'/]*", str(text))]


@pytest.fixture
def administrator(db):
    user = UserFactory(username="admin_zh", first_name="陈", last_name="静")
    MembershipFactory(user=user, site=None, role="administrator")
    return user


# --- The login page and its switch ---------------------------------------------------


def test_the_login_page_in_chinese_has_no_english_words(client):
    html = client.get(reverse("login"), **ZH).content.decode()
    assert html_lang(html) == "zh-Hans"
    assert "<h1 class=\"h3 mb-3\">登录</h1>" in html
    assert "用户名" in html and "密码" in html and "身份验证器代码" in html  # Django's labels and the project's
    assert english_words(html, allow=SWITCH) == []


def test_the_login_page_in_english_says_so(client):
    html = client.get(reverse("login"), **EN).content.decode()
    assert html_lang(html) == "en-GB"
    assert "<h1 class=\"h3 mb-3\">Log in</h1>" in html and "简体中文" in html  # the switch offers Chinese


def test_a_wrong_password_is_refused_in_chinese(client, coordinator):
    response = client.post(reverse("login"), {"username": coordinator.username, "password": "not-it"}, **ZH)
    html = response.content.decode()
    assert "请输入一个正确的" in html  # Django's own message, from its catalogue
    assert english_words(html, allow=SWITCH + [coordinator.username]) == []


def test_the_switch_sets_the_language_cookie_and_the_next_page_is_chinese(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": reverse("login")}, **EN)
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    html = client.get(reverse("login"), **EN).content.decode()  # the cookie beats the browser's English
    assert html_lang(html) == "zh-Hans" and "切换语言" in html
    assert english_words(html, allow=SWITCH) == []


# --- Who sees which language ---------------------------------------------------------------


def _signed_in(client, user, *, language: str = ""):
    if language:
        UserProfile.objects.create(user=user, language=language)
    client.force_login(user)
    return client


def test_a_saved_preference_beats_accept_language_and_the_cookie(client, coordinator):
    _signed_in(client, coordinator, language="zh-hans")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en-gb"
    html = client.get(reverse("home"), **EN).content.decode()
    assert html_lang(html) == "zh-Hans"
    assert "<h2 class=\"h5 mb-0\">本中心患者</h2>" in html and ">退出登录</button>" in html


def test_an_english_preference_beats_a_chinese_browser(client, coordinator):
    _signed_in(client, coordinator, language="en-gb")
    response = client.get(reverse("home"), **ZH)
    assert html_lang(response.content.decode()) == "en-GB"
    assert response["Content-Language"] == "en-gb"


def test_a_user_without_a_preference_follows_accept_language(client, coordinator):
    _signed_in(client, coordinator)
    assert html_lang(client.get(reverse("home"), **ZH).content.decode()) == "zh-Hans"
    assert html_lang(client.get(reverse("home"), **EN).content.decode()) == "en-GB"


def test_a_user_chooses_their_language_and_the_account_trail_keeps_it(client, coordinator):
    _signed_in(client, coordinator)
    page = client.get(reverse("account_preferences"), **ZH).content.decode()
    assert "<h1 class=\"h3\">您的语言</h1>" in page
    assert english_words(page, allow=SWITCH + words_of(coordinator.get_full_name())) == []

    response = client.post(reverse("account_preferences"), {"language": "zh-hans"}, **EN)
    assert response.status_code == 302
    assert UserProfile.objects.get(user=coordinator).language == "zh-hans"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"  # the login page after sign-out too
    event = AccountEvent.objects.get(user=coordinator)
    assert (event.action, event.by, event.detail, event.reason) == (
        "language_changed", coordinator, "Language: browser language → 简体中文", "Changed by the user")
    html = client.get(reverse("home"), **EN).content.decode()  # at once, whatever the browser asks
    assert html_lang(html) == "zh-Hans" and "您的语言已保存。" in html

    client.post(reverse("account_preferences"), {"language": ""}, **EN)  # back to following the browser
    assert UserProfile.objects.get(user=coordinator).language == ""
    assert html_lang(client.get(reverse("home"), **EN).content.decode()) == "en-GB"


def test_an_administrator_sets_a_users_language_with_a_reason(client, administrator, coordinator):
    _signed_in(client, administrator, language="zh-hans")
    url = reverse("administration:user_language", args=[coordinator.pk])
    refused = client.post(url, {"language-language": "zh-hans", "language-reason": ""})
    assert refused.status_code == 400 and "该字段是必填项。" in refused.content.decode()
    assert client.post(url, {"language-language": "zh-hans", "language-reason": "中文用户"}).status_code == 302
    assert UserProfile.objects.get(user=coordinator).language == "zh-hans"
    page = client.get(reverse("administration:user_detail", args=[coordinator.pk])).content.decode()
    assert re.search(r'data-testid="account-language">简体中文<', page)
    # The trail's detail is stored in English and read in the reader's language.
    assert AccountEvent.objects.get(user=coordinator).detail == "Language: browser language → 简体中文"
    assert "语言：跟随浏览器 → 简体中文" in page
    # The user's own next sign-in is in Chinese, whatever their browser asks.
    client.force_login(coordinator)
    assert html_lang(client.get(reverse("home"), **EN).content.decode()) == "zh-Hans"


def test_an_invitation_is_mailed_in_the_language_the_administrator_chose(
        client, administrator, site_sz, django_capture_on_commit_callbacks, mailoutbox):
    _signed_in(client, administrator, language="en-gb")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("administration:user_invite"), {
            "username": "lina", "first_name": "李娜", "last_name": "", "email": "lina@example.org",
            "language": "zh-hans", "role": "coordinator", "site": site_sz.pk, "reason": "New coordinator"})
    assert response.status_code == 302
    assert UserProfile.objects.get(user__username="lina").language == "zh-hans"
    assert mailoutbox[0].subject == "您的 CAR-T EDC 账户"
    assert mailoutbox[0].body.startswith("李娜，您好：")


# --- The home and administration pages of an administrator, in Chinese ----------------------


def test_the_home_page_of_an_administrator_in_chinese(client, administrator, full_patient):
    _signed_in(client, administrator)
    html = client.get(reverse("home"), **ZH).content.decode()
    assert html_lang(html) == "zh-Hans"
    assert "<h1 class=\"h3\">欢迎，陈 静</h1>" in html
    assert "跳至正文" in html and "演示环境仅含模拟数据" in html  # the skip link and the footer
    assert "本地制备的靶向 CD19 CAR-T 细胞" in html  # the protocol's title, stored in English
    protocol = full_patient.patient.protocol
    words = english_words(without_panels(html), allow=[protocol.code, f"v{protocol.version.split('.')[0]}",
                                                       full_patient.patient.site.code])
    assert words == [], words


def test_dates_in_words_follow_the_language(client, administrator, protocol):
    _signed_in(client, administrator)
    url = reverse("administration:protocol_detail", args=[protocol.pk])
    chinese = client.get(url, **ZH).content.decode()
    english = client.get(url, **EN).content.decode()
    assert protocol.effective_date == datetime.date(2024, 1, 1)
    assert re.search(r'data-testid="protocol-effective">2024年1月1日 生效<', chinese)
    assert re.search(r'data-testid="protocol-effective">effective 1 Jan 2024<', english)


def _administration_pages(full_patient, administrator, coordinator):
    site = full_patient.patient.site
    protocol = full_patient.patient.protocol
    return {
        "administration:index": ([], "<h1 class=\"h3\">系统管理</h1>"),
        "administration:users": ([], "<h1 class=\"h3\">用户</h1>"),
        "administration:user_invite": ([], "<h1 class=\"h3\">邀请用户</h1>"),
        "administration:user_detail": ([coordinator.pk], "<h2 class=\"h5\" id=\"roles-heading\">角色</h2>"),
        "administration:sites": ([], "<h1 class=\"h3\">研究中心</h1>"),
        "administration:site_edit": ([site.pk], f"<h1 class=\"h3\">研究中心 {site.code}</h1>"),
        "administration:protocols": ([], "<h1 class=\"h3\">方案版本</h1>"),
        "administration:protocol_detail": ([protocol.pk], "<h2 class=\"h5\">访视计划</h2>"),
        "administration:protocol_amend": ([protocol.pk], f"<h1 class=\"h3\">修订 {protocol}（新版本）</h1>"),
        "administration:history": (["trial.site", site.pk], "<h1 class=\"h3\">稽查轨迹：研究中心 "),
    }


def test_the_administration_pages_in_chinese_have_no_english_words(
        client, administrator, coordinator, full_patient, django_capture_on_commit_callbacks):
    # Real account changes for the trails: an invitation, a role, a language, a reset link.
    with django_capture_on_commit_callbacks(execute=True):
        accounts.user_invite(username="lina", first_name="李娜", last_name="", email="lina@example.org",
                             role="coordinator", site=full_patient.patient.site, by=administrator,
                             reason="新的研究协调员", base_url="http://testserver/", language="zh-hans")
    accounts.membership_grant(user=coordinator, site=None, role="data_manager", by=administrator, reason="兼任")
    accounts.user_language_set(user=coordinator, language="zh-hans", by=administrator, reason="中文用户")
    coordinator.email = "coord@example.org"
    coordinator.save()
    accounts.user_password_reset(user=coordinator, by=administrator, reason="忘记密码", base_url="http://testserver/")
    site = full_patient.patient.site
    protocol = full_patient.patient.protocol
    data = words_of(site.code, site.name, site.location, "lina@example.org coord@example.org", protocol.code,
                    f"v{protocol.version.split('.')[0]}",
                    *(f"{user.get_full_name()} {user.username}" for user in type(coordinator).objects.all()),
                    # the eligibility criteria's codes (identifiers: rr_cd19_ball)
                    *(code.replace("_", " ") for code in protocol.eligibility_criteria.values_list("code", flat=True)),
                    *protocol.visit_definitions.values_list("code", flat=True))  # D1 … M36
    _signed_in(client, administrator)
    for name, (args, heading) in _administration_pages(full_patient, administrator, coordinator).items():
        html = client.get(reverse(name, args=args), **ZH).content.decode()
        assert heading in html, name
        words = english_words(html, allow=SWITCH + data)
        assert words == [], (name, words)
    index = client.get(reverse("administration:index"), **ZH).content.decode()
    assert "邀请地址 lina@example.org" in index and "发送至 coord@example.org" in index
    assert "SZ 的研究协调员" in index and "所有研究中心的数据管理员" in index


def test_a_refused_administration_form_answers_in_chinese(client, administrator):
    _signed_in(client, administrator)
    response = client.post(reverse("administration:user_invite"), {
        "username": "x", "first_name": "某", "email": "not-an-address", "role": "monitor", "reason": ""}, **ZH)
    html = response.content.decode()
    assert "该字段是必填项。" in html and "请输入合法的邮件地址。" in html
    assert english_words(html, allow=SWITCH) == []


# --- The CRF floor's messages ---------------------------------------------------------------


def test_a_soft_check_is_shown_in_chinese_and_stored_in_english(full_patient):
    from django.utils import translation

    from crf.checks import visit_window_check
    from trial.i18n import stored_language

    visit = full_patient.visit
    check, = visit_window_check(visit=visit, on_date=visit.window_end + datetime.timedelta(days=3), field="d")
    with translation.override("zh-hans"):
        shown = str(check.message)
    with stored_language():
        stored = str(check.message)
    assert shown == (f"{visit.window_end + datetime.timedelta(days=3):%Y-%m-%d} 超出 D28 访视窗"
                     f"（{visit.window_start:%Y-%m-%d} 至 {visit.window_end:%Y-%m-%d}）：晚于结束 3 天。")
    assert stored.endswith("): 3 days after it closed.") and stored.startswith(
        f"{visit.window_end + datetime.timedelta(days=3):%Y-%m-%d} is outside the D28 window")


# --- The API's messages ----------------------------------------------------------------------


def test_an_api_error_follows_accept_language_but_its_codes_and_fields_do_not(
        api_client, monitor, coordinator, full_patient):
    crf = full_patient.crfs["outcomes.followup"]
    url = reverse("api:crf-remove", args=[crf.crf_code, crf.pk])
    api_client.force_authenticate(monitor)
    chinese = api_client.post(url, {"reason": "录入错误"}, format="json", **ZH)
    english = api_client.post(url, {"reason": "entered in error"}, format="json")
    assert chinese.status_code == english.status_code == 403
    assert english.json() == {"detail": "Only coordinators, investigators and administrators of this site enter "
                                        "data; monitors and data managers are read-only on clinical data."}
    assert chinese.json() == {"detail": "只有本研究中心的研究协调员、研究者和管理员可以录入数据；"
                                        "监查员和数据管理员对临床数据只读。"}
    # A 400: the field keeps its name, its message is in the client's language.
    api_client.force_authenticate(coordinator)
    missing = api_client.post(url, {}, format="json", **ZH)
    assert missing.status_code == 400 and missing.json() == {"reason": ["该字段是必填项。"]}
    assert api_client.post(url, {}, format="json").json() == {"reason": ["This field is required."]}

    token = api_client.post(reverse("api:token"), {"username": monitor.username, "password": "wrong"},
                            format="json", **ZH)
    assert token.status_code == 400 and token.json() == {"non_field_errors": ["无法使用提供的认证信息登录。"]}
    api_client.force_authenticate(None)
    unknown = api_client.get("/api/v1/protocol/", HTTP_AUTHORIZATION="Token nope", **ZH)
    assert unknown.status_code == 401 and unknown.json() == {"detail": "认证令牌无效。"}  # DRF's own catalogue


# --- The demo --------------------------------------------------------------------------------


def test_the_demo_has_users_of_both_languages(capsys):
    call_command("load_demo", as_of=datetime.date(2026, 11, 24))
    languages = dict(UserProfile.objects.values_list("user__username", "language"))
    assert {name: languages[name] for name in ("coordinator", "investigator", "monitor", "admin")} == {
        "coordinator": "en-gb", "investigator": "en-gb", "monitor": "en-gb", "admin": "en-gb"}
    assert {name: languages[name] for name in ("coordinator_zh", "investigator_zh", "monitor_zh", "admin_zh")} == {
        "coordinator_zh": "zh-hans", "investigator_zh": "zh-hans", "monitor_zh": "zh-hans", "admin_zh": "zh-hans"}
    chinese = UserProfile.objects.get(user__username="coordinator_zh").user
    assert chinese.get_full_name() == "李娜" and chinese.memberships.get().role == "coordinator"
    out = capsys.readouterr().out
    assert re.search(r"coordinator\s+coordinator_zh\s+SZ\s+简体中文", out)
    assert re.search(r"coordinator\s+coordinator\s+SZ\s+English", out)
    assert re.search(r"coordinator\s+coordinator_wx_zh\s+WX\s+简体中文", out)
    wx = UserProfile.objects.get(user__username="coordinator_wx_zh")
    assert (wx.language, wx.user.get_full_name()) == ("zh-hans", "赵敏")
    assert list(wx.user.memberships.values_list("role", "site__code")) == [("coordinator", "WX")]
    assert re.search(r"monitor\s+monitor_zh\s+SZ, WX\s+简体中文", out)
    # Each English user's twin has the same memberships as loaded: every role at every site (or trial-wide).
    memberships = {}
    for username, role, site in SiteMembership.objects.values_list("user__username", "role", "site__code"):
        memberships.setdefault(username, set()).add((role, site))
    english = {name: places for name, places in memberships.items() if not name.endswith("_zh")}
    assert memberships["monitor"] == {("monitor", "SZ"), ("monitor", "WX")}
    assert {name: places for name, places in memberships.items() if name.endswith("_zh")} == {
        f"{name}_zh": places for name, places in english.items()}


def test_every_english_demo_user_has_a_chinese_counterpart():
    """The same role at the same sites (all of them), named <username>_zh, so that each place of the demo can be
    seen in Chinese."""
    from trial.demo import DEMO_USERS

    english = {name: (role, sites) for name, _full, role, sites, language in DEMO_USERS if language == "en-gb"}
    chinese = {name: (role, sites) for name, _full, role, sites, language in DEMO_USERS if language == "zh-hans"}
    assert chinese == {f"{name}_zh": places for name, places in english.items()}
    assert english["monitor"] == ("monitor", ("SZ", "WX"))
