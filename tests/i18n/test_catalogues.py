"""Every marked string has a Chinese translation (docs/i18n.md).

makemessages runs on a copy of the project, so the test sees the strings as they are in the code now, not as
they were when a catalogue was last made; the catalogues in the repository are left untouched.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", ".git", "tests", "media", "staticfiles", "bench", "docs", "node_modules", ".pytest_cache",
             ".hypothesis", "__pycache__"}


def _copy_project(target: Path) -> None:
    for entry in ROOT.iterdir():
        if entry.name in SKIP_DIRS or entry.name.startswith(".") or entry.suffix in {".sqlite3"}:
            continue
        if entry.is_dir():
            shutil.copytree(entry, target / entry.name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy2(entry, target / entry.name)


@pytest.fixture(scope="module")
def remade_catalogues(tmp_path_factory) -> dict[str, Path]:
    """Each catalogue after makemessages, by the app that owns it ("locale" for the root one)."""
    if shutil.which("xgettext") is None:
        pytest.skip("needs GNU gettext: xgettext is not installed (apt-get install gettext)")
    copy = tmp_path_factory.mktemp("project")
    _copy_project(copy)
    made = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "zh_Hans", "--no-obsolete", "--verbosity", "0"],
        cwd=copy, capture_output=True, text=True,
        # The application's settings: the test settings add apps from tests/, which the copy leaves out.
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert made.returncode == 0, made.stderr
    return {po.relative_to(copy).parts[0]: po for po in copy.glob("**/locale/zh_Hans/LC_MESSAGES/django.po")}


def test_every_app_has_a_catalogue(remade_catalogues):
    apps = {"locale", "crf", "patients", "infusions", "safety", "outcomes", "laboratory", "monitoring", "visits",
            "trial", "home", "submission"}
    assert apps <= set(remade_catalogues), sorted(apps - set(remade_catalogues))


def test_no_marked_string_is_untranslated_or_fuzzy(remade_catalogues):
    problems = []
    for app, po in sorted(remade_catalogues.items()):
        with po.open("rb") as handle:
            catalogue = read_po(handle)
        if catalogue.fuzzy:
            problems.append(f"{app}: the header is marked fuzzy, so the catalogue would not be compiled")
        for message in catalogue:
            if not message.id:
                continue  # the header
            where = f"{app}: {message.id!r}"
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy:
                problems.append(f"fuzzy {where}")
            elif not all(strings):
                problems.append(f"untranslated {where}")
    assert not problems, f"{len(problems)} strings lack a translation:\n" + "\n".join(problems[:200])


def test_one_english_string_reads_the_same_in_every_app(remade_catalogues):
    """Django merges the catalogues (the first app in INSTALLED_APPS wins), so one msgid translated two ways
    would show one app's wording on the other's page: say it once, or tell them apart with a context
    (pgettext)."""
    translations: dict[tuple[str | None, str], dict[str, str]] = {}
    for app, po in sorted(remade_catalogues.items()):
        with po.open("rb") as handle:
            for message in read_po(handle):
                if message.id and isinstance(message.id, str) and message.string:
                    translations.setdefault((message.context, message.id), {})[app] = message.string
    clashes = [f"{msgid!r} ({context or 'no context'}): {by_app}"
               for (context, msgid), by_app in sorted(translations.items(), key=str)
               if len(set(by_app.values())) > 1]
    assert not clashes, f"{len(clashes)} strings translated differently by different apps:\n" + "\n".join(clashes)
