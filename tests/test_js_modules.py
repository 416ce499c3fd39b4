"""The pages' JavaScript modules that hold rules, run under node's test runner."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parent.parent
SUITES = {"tests/windows/announce.test.mjs": 4, "tests/pages/live.test.mjs": 5}


@pytest.mark.parametrize("suite, count", SUITES.items())
def test_js_suite(suite, count):
    node = shutil.which("node")
    if node is None:
        if REQUIRE_SERVICES:
            pytest.fail("node is required to test the pages' JavaScript")
        pytest.skip("node is not installed")
    run = subprocess.run([node, "--test", suite], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^# fail 0$", run.stdout, re.M)
    assert re.search(rf"^# pass {count}$", run.stdout, re.M), run.stdout
