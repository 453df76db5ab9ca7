"""The README's Python API example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
pytestmark = pytest.mark.usefixtures("one_thread")


def _python_block(section: str) -> str:
    text = README.read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", body, re.S)
    assert len(blocks) == 1, f"expected one python block in README section {section!r}"
    return blocks[0]


def test_readme_python_api_example_runs(capsys):
    namespace: dict = {}
    exec(compile(_python_block("Python API"), "README.md", "exec"), namespace)
    results = namespace["results"]
    assert len(results.episodes) == 2 and 0.0 <= results.success_rate <= 1.0
    assert namespace["first"]["steps"] >= 1
    assert namespace["model"].latent_dim > 0 and hasattr(namespace["agent"], "act")
    assert "wmplan/Reacher-v0 agent=wm: success" in capsys.readouterr().out
