"""The sandboxed script engine: attacks fail at deploy and at run time, runaway scripts stop, normal ones work."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.workflows.engine.diagrams import ORG_TYPES, ROLES, run_to_first, with_script
from workflows import engine
from workflows.engine import DiagramError


@pytest.mark.parametrize("name, payload", [
    ("import os", "import os\nout = os.popen('id -un').read()"),
    ("__import__", "out = __import__('os').system('touch /tmp/casebook-pwned')"),
    ("open file", "out = open('/etc/hostname').read()"),
    ("subclass escape", "w = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()\n"
                        "out = w._module.__builtins__['__import__']('os').popen('id').read()"),
    ("getattr string", "out = getattr(1, '__class__')"),
    ("format escape", "out = '{0.__class__}'.format(1)"),
    ("type walk", "out = type(1).mro()"),
    ("globals", "out = globals()"),
    ("eval", "out = eval('1+1')"),
    ("exec", "exec('x = 1')"),
])
def test_sandbox_blocks_attacks(name, payload, tmp_path):
    """Does every attack from the guide §6 fail both at deploy and at run time?"""
    text = with_script(payload)
    with pytest.raises(DiagramError):
        engine.lint(text, {}, ORG_TYPES, ROLES)
    wf = engine.start(text, "script_task", {}, {})  # even if lint were bypassed
    with pytest.raises(engine.EngineError):
        engine.run(wf)
    assert not Path("/tmp/casebook-pwned").exists()


@pytest.mark.parametrize("payload", ["while True:\n    pass", "x = 0\nwhile x >= 0:\n    x += 1",
                                     "out = 'a' * (10 ** 9)", "out = 2 ** (10 ** 8)", "out = 1 << 10 ** 9",
                                     "out = sum(range(10 ** 12))", "out = [1] * 10 ** 9",
                                     # one C call allocating gigabytes (no line to stop at): the memory cap
                                     "out = 'x'.ljust(3 * 10 ** 9)", "out = '%3000000000s' % 'x'",
                                     "out = len(sum([[0] * 999999 for i in range(1000)], []))",
                                     "out = [('x' * 999999) + str(i) for i in range(50000)]"])
def test_budget_stops_runaway_scripts(payload):
    """A loop or a huge allocation puts the run in error instead of hanging the request."""
    text = with_script(payload)
    engine.lint(text, {}, ORG_TYPES, ROLES)
    wf = engine.start(text, "script_task", {}, {})
    started = datetime.now()
    with pytest.raises(engine.EngineError, match="stopped|limit|exponent|shift"):
        engine.run(wf)
    assert datetime.now() - started < timedelta(seconds=10)
    assert bytearray(100 * 2**20)   # the cap is lifted afterwards: the process allocates as before


def test_normal_scripts_work():
    text = with_script("total = sum([1, 2, 3])\nneeds = sorted(['b', 'a'])\nwhen = add_working_days('2026-11-26', 2)\n"
                       "msg = 'Case has %d needs' % len(needs)\nsquare = 3 ** 2\nrepeat = 'ab' * 2")
    wf = run_to_first(text)
    data = engine.ready_user_tasks(wf) and wf.get_tasks()[-1].data
    (task,) = engine.ready_user_tasks(wf)
    data = wf.get_task_from_id(__import__("uuid").UUID(task.id)).data
    assert data["total"] == 6 and data["needs"] == ["a", "b"] and data["when"] == "2026-11-30T17:00:00+00:00"
    assert data["square"] == 9 and data["repeat"] == "abab" and data["msg"] == "Case has 2 needs"
