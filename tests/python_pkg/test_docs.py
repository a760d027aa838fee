"""Every ```python block of docs/python.md runs as written (blocks with
"# (not run)" only show a call's shape)."""

import os
import re
import subprocess

import pytest

import conftest

DOC = os.path.join(conftest.SOURCE_DIR, "docs", "python.md")
with open(DOC, encoding="utf-8") as f:
    BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", f.read(), re.S) if "# (not run)" not in b]


def test_there_are_examples():
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index):
    env = conftest.child_env(python=True)
    env["PYTHONPATH"] = os.path.join(conftest.SOURCE_DIR, "python")
    r = subprocess.run([conftest.PYTHON, "-c", BLOCKS[index]], env=env, capture_output=True, text=True, timeout=60,
                       cwd="/tmp")
    assert r.returncode == 0, "example %d failed:\n%s\n%s\n%s" % (index, BLOCKS[index], r.stdout, r.stderr)
