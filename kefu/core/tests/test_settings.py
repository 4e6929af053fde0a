import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _kefu(*args, env):
    return subprocess.run([sys.executable, "-m", "kefu", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        **os.environ, "KEFU_PRODUCTION": "1", "KEFU_SECRET_KEY": "x" * 64 + "-production-secret-KEY-0123456789",
        "KEFU_ALLOWED_HOSTS": "support.example.com", "KEFU_DATA_DIR": str(tmp_path),
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}"),
    }
    result = _kefu("check", "--deploy", "--fail-level", "WARNING", env=env)
    problems = result.stdout + result.stderr
    if env["DATABASE_URL"].startswith("sqlite"):
        # Only our own reminder that production belongs on PostgreSQL may remain.
        assert "kefu.W002" in problems
        result = _kefu("check", "--deploy", "--fail-level", "ERROR", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_mode_generates_and_keeps_a_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"KEFU_SECRET_KEY", "KEFU_PRODUCTION"}}
    env["KEFU_DATA_DIR"] = str(tmp_path)
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = _kefu("shell", "-c", code, env=env).stdout.strip()
    second = _kefu("shell", "-c", code, env=env).stdout.strip()
    assert len(first) >= 50
    assert first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_an_empty_database_url_means_the_embedded_database(tmp_path):
    env = {**os.environ, "DATABASE_URL": "", "KEFU_DATA_DIR": str(tmp_path)}
    code = "from django.conf import settings; print(settings.DATABASES['default']['NAME'])"
    result = _kefu("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "kefu.sqlite3")
