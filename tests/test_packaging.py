"""The app installs from a wheel, and a host's ``migrate`` finds its migrations unaided."""

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HOST_SETTINGS = """
SECRET_KEY = "scratch"
INSTALLED_APPS = [
    "django.contrib.auth", "django.contrib.contenttypes",
    "django_celery_beat", "capomastro_changes",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "host.sqlite3"}}
USE_TZ = True
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps",
         "--quiet", "-w", str(out), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    return next(out.glob("capomastro_changes-*.whl"))


def test_the_wheel_ships_migrations_inside_the_app_and_no_top_level_migrations(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "capomastro_changes/migrations/0001_initial.py" in names
    assert not [n for n in names if n.startswith("migrations/")]
    for shipped in (
        "bygmester_hooks/__init__.py",
        "bygmester_hooks/templates/probe-job.xml",
        "bygmester_hooks/scripts/lxc-launch",
        "capomastro_changes/admin/__init__.py",
        "capomastro_changes/testing/jenkins/__main__.py",
    ):
        assert shipped in names, shipped
    assert [n for n in names if n.startswith("capomastro_changes/templates/admin/")]
    assert [n for n in names if n.startswith("bygmester_hooks/examples/")]


@pytest.mark.slow
def test_a_host_project_migrates_the_installed_app_without_migration_modules(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Dependencies come from this environment's site-packages through a plain path
    # entry (whose own .pth files, such as the editable finder, are not processed).
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--quiet", str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    (tmp_path / "host_settings.py").write_text(HOST_SETTINGS)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "HOME": str(tmp_path)}
    where = subprocess.run(
        [str(python), "-c", "import capomastro_changes.migrations as m; print(m.__file__)"],
        cwd=tmp_path, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert where.startswith(site), where
    done = subprocess.run(
        [str(python), "-m", "django", "migrate", "--settings", "host_settings"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Applying capomastro_changes.0001_initial... OK" in done.stdout
