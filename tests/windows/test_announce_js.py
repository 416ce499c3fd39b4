"""The display board's announcement module (digit-by-digit reading, queue), run under node."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES

HERE = Path(__file__).resolve().parent


def test_announcement_module_under_node():
    node = shutil.which("node")
    if node is None:
        if REQUIRE_SERVICES:
            pytest.fail("node is required to test windows/static/announce.js")
        pytest.skip("node is not installed")
    run = subprocess.run([node, "--test", str(HERE / "announce.test.mjs")], cwd=HERE.parent.parent,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# pass 5" in run.stdout
