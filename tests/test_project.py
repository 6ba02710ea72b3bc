"""The `xinedai` console command and production settings, run as an operator would."""

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest


def run(args, tmp_path, **env):  # type: ignore[no-untyped-def]
    full_env = {**os.environ, "XINEDAI_VAR_DIR": str(tmp_path / "var"), **env}
    full_env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "xinedai", *args], capture_output=True, text=True, env=full_env, timeout=120, check=False
    )


def test_deploy_checks_pass_with_production_settings(tmp_path):
    result = run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        XINEDAI_HTTPS="1",
        XINEDAI_SECRET_KEY=secrets.token_urlsafe(50),
        XINEDAI_ALLOWED_HOSTS="credit.bank.example",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_checks_fail_with_the_development_key(tmp_path):
    result = run(["check", "--deploy", "--fail-level", "WARNING"], tmp_path)
    assert result.returncode != 0


def test_dashed_command_names_and_template(tmp_path):
    out = Path(tmp_path) / "template.xlsx"
    result = run(["import-households", "--template", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert openpyxl.load_workbook(out).active["A1"].value == "村编码"


def test_ui_is_chinese_by_default_and_english_on_request(client, db):
    page = client.get("/accounts/login/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "登录" in page.content.decode() and page["Content-Language"] == "zh-hans"
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    page = client.get("/accounts/login/")
    assert "Sign in" in page.content.decode() and page["Content-Language"] == "en"


def test_sqlite_tests_run_on_a_shared_file_with_the_production_options(db):
    """The concurrency tests prove production's SQLite configuration only if their threads share a database
    file, each connection opened as production opens it: BEGIN IMMEDIATE, a busy timeout, WAL."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        path = cursor.execute("PRAGMA database_list").fetchone()[2]
        pragmas = [cursor.execute(f"PRAGMA {name}").fetchone()[0] for name in ("journal_mode", "busy_timeout")]
    assert path and Path(path).is_file() and path == connection.settings_dict["TEST"]["NAME"]
    assert getattr(connection, "transaction_mode", None) == "IMMEDIATE"
    assert pragmas == ["wal", 30_000]


def test_every_command_of_ours_answers_to_its_dashed_name(capsys):
    """`xinedai some-command` reaches Django's some_command: a command module spelled with dashes would
    not be found (the wrapper turns dashes into underscores)."""
    from xinedai.__main__ import main

    src = Path(__file__).resolve().parent.parent / "src" / "xinedai"
    names = [p.stem for p in src.glob("*/management/commands/*.py") if p.stem != "__init__"]
    assert "campaigns_activate" in names and all("-" not in n for n in names)
    for name in names:
        with pytest.raises(SystemExit) as exited:
            main([name.replace("_", "-"), "--help"])
        assert exited.value.code == 0, name
    capsys.readouterr()


def untranslated(po: Path) -> list[str]:
    """The messages of a .po file without a Chinese text, or with a fuzzy one (makemessages' guess from a
    similar message)."""
    missing = []
    for block in po.read_text(encoding="utf-8").split("\n\n")[1:]:  # the first block is the header
        lines = [ln for ln in block.splitlines() if not ln.startswith("#~")]
        texts: dict[str, str] = {}
        key = ""
        for ln in lines:
            if ln.startswith(("msgid", "msgstr", "msgctxt")):
                key, _, value = ln.partition(" ")
                texts[key] = value.strip('"')
            elif ln.startswith('"') and key:
                texts[key] += ln.strip('"')
        if not texts.get("msgid"):
            continue
        fuzzy = any(ln.startswith("#,") and "fuzzy" in ln for ln in lines)
        if fuzzy or not all(v for k, v in texts.items() if k.startswith("msgstr")):
            missing.append(texts["msgid"])
    return missing


@pytest.mark.skipif(not shutil.which("xgettext"), reason="makemessages needs GNU gettext (xgettext)")
def test_the_chinese_catalogue_translates_every_message_of_the_code(tmp_path):
    """makemessages, run on a copy of the source, finds no message without its Chinese text: the UI speaks
    Chinese by default, and a message missing from the catalogue would show in English."""
    src = Path(__file__).resolve().parent.parent / "src"
    copy = tmp_path / "src" / "xinedai"
    shutil.copytree(src / "xinedai", copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src"), "DJANGO_SETTINGS_MODULE": "xinedai.settings"}
    env["XINEDAI_VAR_DIR"] = str(tmp_path / "var")
    out = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--ignore", "*/migrations/*"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert untranslated(copy / "locale/zh_Hans/LC_MESSAGES/django.po") == []
