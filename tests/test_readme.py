"""The README stays true: every environment variable documented, Quick start commands as CI runs them."""
from __future__ import annotations

import re
from pathlib import Path

import config

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_environment_variable_is_documented():
    for name, (_key, _kind, _default, doc) in config.ENVIRONMENT.items():
        assert f"| `{name}` | {doc} |" in README, name


def test_quick_start_has_the_two_commands():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.+?)\n```", section)
    assert len(commands) == 2
    run, test = commands
    assert "init-db" in run and "seed-demo" in run and run.endswith("flask --app app run")
    assert test.endswith("python -m pytest")
    assert test in (ROOT / ".ci" / "run").read_text()


def test_screenshot_exists():
    assert (ROOT / "docs" / "screenshot.png").stat().st_size > 10_000
