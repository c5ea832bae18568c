"""Every console URL, API route and CLI command (with its options) that shipped still answers: other tools
depend on them. tests/data/contract.txt lists them; new ones may be added, none may go or change."""
from __future__ import annotations

import click

from tests.factories import DATA

CONTRACT = DATA / "contract.txt"


def _surface(app) -> set[str]:
    """One line per URL rule (path, methods, endpoint) and per CLI command (path and options)."""
    lines = {f"{r.rule} {' '.join(sorted(r.methods - {'HEAD', 'OPTIONS'}))} {r.endpoint}"
             for r in app.url_map.iter_rules()}
    ctx = click.Context(app.cli)

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])
        else:
            options = ",".join(f"{'/'.join(p.opts)}{'!' if p.required else ''}{'*' if p.multiple else ''}"
                               for p in command.params)
            lines.add(f"cli {' '.join(path)} [{options}]")

    walk(app.cli, [])
    return lines


def test_nothing_that_shipped_went_away(app):
    promised = {line for line in CONTRACT.read_text().splitlines() if line and not line.startswith("#")}
    assert len(promised) > 150
    assert sorted(promised - _surface(app)) == []
