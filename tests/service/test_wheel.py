"""What the image installs is the wheel, not this checkout: it must migrate and serve on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from tests.support import ROOT

CHECK = """
import service, sys
assert service.__file__.startswith(sys.argv[1]), service.__file__
from service.cli import main
main(["db", "upgrade"])
"""


def test_the_wheel_alone_migrates_a_database_and_carries_its_templates(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "service/store/migrations/env.py",
        "service/store/migrations/versions/0001_initial_schema.py",
        "service/web/templates/feedback_form.html",
        "service/web/templates/decision_confirm.html",
        "service/web/templates/cockpit/base.html",
        "service/store/migrations/versions/0010_cockpit_accounts.py",
        "reports/templates/digest.html",
        "service/sandbox/seed.json",
        "mappings/sandbox.toml",
    ):
        assert needed in names, needed
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "SCOPEWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'image.db'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", CHECK, str(site)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "database at revision" in result.stdout
