"""The sandbox for every expression and script a diagram carries (RestrictedPython plus a budget).

Uploaded diagrams are data, never code: they are compiled with RestrictedPython (no imports, no
names or attributes starting with "_", guarded attribute, item and iteration access), run with a
small allow-list of builtins and helpers, and stopped after a number of executed lines or a wall-clock
limit. This module is reviewed like code because it is the eval/exec boundary.
"""
from __future__ import annotations

import ast
import builtins
import operator
import re
import sys
import threading
import time
from datetime import date, datetime, timedelta
from types import CodeType, FrameType
from typing import Any, Callable

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence,
                                     safer_getattr)

from casework.calendar import add_working_days

try:
    import resource
except ImportError:  # not on Windows: there scripts run without the memory cap
    resource = None  # type: ignore[assignment]

SCRIPT_FILENAME = "<diagram>"
MAX_LINES = 100_000      # executed lines per expression or script
MAX_SECONDS = 2.0        # wall clock per expression or script
MAX_RANGE = 100_000

_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
            "//=": operator.ifloordiv, "%=": operator.imod, "|=": operator.ior, "&=": operator.iand}


class ScriptBudgetExceeded(RuntimeError):
    """A diagram's script ran too long (a loop that never ends, or far too much work)."""


def _limited_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise ScriptBudgetExceeded(f"range() of {len(r)} items is over the limit of {MAX_RANGE}")
    return r


MAX_SEQUENCE = 1_000_000


def _power(a: Any, b: Any, *mod: Any) -> Any:
    # `x ** huge` runs in C, where the line budget cannot stop it.
    if isinstance(b, int) and abs(b) > 1000:
        raise ScriptBudgetExceeded("exponent over 1000")
    return pow(a, b, *mod)


def guarded_mul(a: Any, b: Any) -> Any:
    """`a * b`, refusing to build enormous strings or lists in one C call."""
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_SEQUENCE:
            raise ScriptBudgetExceeded(f"a sequence of {len(seq) * n} items is over the limit")
    return a * b


def guarded_lshift(a: Any, b: Any) -> Any:
    if isinstance(b, int) and b > 10_000:
        raise ScriptBudgetExceeded("shift over 10000 bits")
    return a << b


_BUILTINS: dict[str, Any] = dict(safe_builtins)
_BUILTINS.update({n: getattr(builtins, n) for n in (
    "min", "max", "sum", "any", "all", "sorted", "enumerate", "zip", "dict", "list", "tuple", "set", "map",
    "filter", "reversed")})
_BUILTINS["range"] = _limited_range
_BUILTINS["pow"] = _power
for _name in ("setattr", "delattr", "__build_class__", "compile", "__import__"):
    _BUILTINS.pop(_name, None)

# What a diagram can name. Classes and functions only, never modules.
HELPERS: dict[str, Any] = {"date": date, "datetime": datetime, "timedelta": timedelta,
                           "add_working_days": add_working_days}
GLOBALS: dict[str, Any] = {
    "__builtins__": _BUILTINS, "_getattr_": safer_getattr, "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence, "_write_": full_write_guard,
    "_inplacevar_": lambda op, x, y: guarded_mul(x, y) if op == "*=" else _INPLACE[op](x, y), **HELPERS,
    "guarded_mul": guarded_mul, "guarded_lshift": guarded_lshift,
}
RESERVED_NAMES = frozenset(HELPERS) | {"typename"}

# Bare ISO-8601 literals (P2D, PT4H, R3/PT1H, 2025-01-31T09:00:00Z), as Camunda Modeler users type them.
ISO_LITERAL = re.compile(r"^(R\d*/)?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
                         r"|^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_ARITH = re.compile(r"\*|<<")


def normalize(expression: str) -> str:
    """Accept Camunda-Modeler style `${...}` around an expression."""
    text = (expression or "").strip()
    return text[2:-1].strip() if text.startswith("${") and text.endswith("}") else text


_cache: dict[tuple[str, str], CodeType] = {}


def compile_source(source: str, mode: str) -> CodeType:
    """Compile with RestrictedPython; raises SyntaxError listing every violation (cached)."""
    key = (source, mode)
    code = _cache.get(key)
    if code is None:
        if _ARITH.search(source):
            source = _rewrite_arithmetic(source, mode)
        compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
        result = compiler(source, filename=SCRIPT_FILENAME)
        if result.errors:
            m = re.match(r"Line (\d+)", result.errors[0])
            raise SyntaxError("; ".join(result.errors), (SCRIPT_FILENAME, int(m.group(1)) if m else 1, 0, source))
        code = result.code
        if len(_cache) > 5000:
            _cache.clear()
        _cache[key] = code
    return code


_GUARDED_OPS = {ast.Pow: "pow", ast.Mult: "guarded_mul", ast.LShift: "guarded_lshift"}


def _rewrite_arithmetic(source: str, mode: str) -> str:
    """Route `**`, `*` and `<<` through guarded functions (RestrictedPython leaves them unguarded)."""

    class Rewriter(ast.NodeTransformer):
        def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
            self.generic_visit(node)
            name = _GUARDED_OPS.get(type(node.op))
            if name is None:
                return node
            call = ast.Call(func=ast.Name(name, ast.Load()), args=[node.left, node.right], keywords=[])
            return ast.copy_location(call, node)

    try:
        tree = ast.parse(source, mode="eval" if mode == "eval" else "exec")
    except SyntaxError:
        return source  # RestrictedPython reports it
    return ast.unparse(ast.fix_missing_locations(Rewriter().visit(tree)))


FORBIDDEN_NAMES = frozenset({"open", "eval", "exec", "compile", "globals", "locals", "vars", "getattr", "setattr",
                             "delattr", "type", "input", "breakpoint", "memoryview", "help", "exit", "quit",
                             "object", "super", "classmethod", "staticmethod", "property", "dir", "id"})


def _refuse_unsafe(source: str, mode: str = "exec") -> None:
    """Upload-time refusal of imports and of names that only an attack would need."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise SyntaxError(f"Line {node.lineno}: imports are not allowed in diagrams",
                              (SCRIPT_FILENAME, node.lineno, 0, source))
        if isinstance(node, ast.Attribute) and node.attr in ("format", "format_map", "mro"):
            raise SyntaxError(f"Line {node.lineno}: .{node.attr}() is not available in diagrams "
                              "(use an f-string or %)", (SCRIPT_FILENAME, node.lineno, 0, source))
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            raise SyntaxError(f"Line {node.lineno}: {node.id!r} is not available in diagrams",
                              (SCRIPT_FILENAME, node.lineno, 0, source))


def check_expression(expression: str) -> None:
    """Upload-time check of a condition or timer text; raises SyntaxError."""
    expr = normalize(expression)
    if not ISO_LITERAL.match(expr):
        _refuse_unsafe(expr, "eval")
        compile_source(expr, "eval")


def check_script(script: str) -> None:
    """Upload-time check of a script; raises SyntaxError."""
    _refuse_unsafe(script)
    compile_source(script, "exec")


MAX_MEMORY = 512 * 1024 * 1024   # address space a script may add to the process
_cap_lock = threading.Lock()
_cap_users = 0
_cap_previous: tuple[int, int] | None = None


def _cap_memory() -> None:
    """Limit the process's address space to what it uses now plus MAX_MEMORY while scripts run.

    One C call (`'x'.ljust(10**9)`, `sum(lists, [])`) can allocate gigabytes where no line budget can stop
    it; under the cap the allocation fails with MemoryError instead. Shared by every thread that runs a
    script: set by the first, lifted by the last."""
    global _cap_users, _cap_previous
    with _cap_lock:
        _cap_users += 1
        if _cap_users > 1 or resource is None:
            return
        try:
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            with open("/proc/self/statm", "rb") as fh:
                in_use = int(fh.read().split()[0]) * resource.getpagesize()
        except (OSError, ValueError):
            return
        wanted = in_use + MAX_MEMORY
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft <= wanted:
            return  # already limited at least as tightly
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
        _cap_previous = (soft, hard)


def _lift_memory_cap() -> None:
    global _cap_users, _cap_previous
    with _cap_lock:
        _cap_users -= 1
        if _cap_users == 0 and _cap_previous is not None:
            resource.setrlimit(resource.RLIMIT_AS, _cap_previous)
            _cap_previous = None


def run_limited(fn: Callable[[], Any]) -> Any:
    """Run `fn` while counting the lines executed in diagram code, under a memory cap; stop it past the budget."""
    lines = 0
    deadline = time.monotonic() + MAX_SECONDS

    def local(frame: FrameType, event: str, arg: Any):
        nonlocal lines
        if event == "line":
            lines += 1
            if lines > MAX_LINES:
                raise ScriptBudgetExceeded(f"script stopped after {MAX_LINES} steps (a loop that never ends?)")
            if lines % 1000 == 0 and time.monotonic() > deadline:
                raise ScriptBudgetExceeded(f"script stopped after {MAX_SECONDS:g} seconds")
        return local

    def tracer(frame: FrameType, event: str, arg: Any):
        return local if frame.f_code.co_filename == SCRIPT_FILENAME else None

    previous = sys.gettrace()
    _cap_memory()
    sys.settrace(tracer)
    try:
        return fn()
    except MemoryError:
        raise ScriptBudgetExceeded(f"script stopped: it needed more than {MAX_MEMORY // 2**20} MB") from None
    finally:
        sys.settrace(previous)
        _lift_memory_cap()
