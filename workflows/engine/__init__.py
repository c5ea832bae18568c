"""The SpiffWorkflow wrapper: the only package that imports SpiffWorkflow.

One module per job: `parse` (diagram XML read safely, the hybrid parser), `lint` (problems naming element,
name and line), `scripting` (the sandboxed script engine and service-task calls), `serialize` (state as
JSON), `run` (start, run with a step budget, complete, ready tasks, timers), `migrate` (diff, plan,
migrate), `clock` (engine time for `timers run --at`). Callers get plain data (TaskInfo, Problem,
MigrationPlan) back, never Spiff objects, except the opaque workflow handle they pass back in.
"""
from __future__ import annotations

from workflows.engine.clock import clock, now
from workflows.engine.lint import lint
from workflows.engine.migrate import MigrationPlan, migrate, migration_plan
from workflows.engine.parse import Step, executable_process, lane_org_type, read_form, read_xml, user_steps
from workflows.engine.results import (BPMN_NS, CAMUNDA_NS, MAX_STEPS, MAX_XML_BYTES, NS, DiagramError,
                                      EngineError, Parsed, Problem, TaskInfo, json_safe)
from workflows.engine.run import (complete, is_completed, next_timer_at, process_key, ready_user_tasks, retry,
                                  run, start, step_states, steps_of, task_state, to_datetime)
from workflows.engine.scripting import ServiceCall, services
from workflows.engine.serialize import dumps, has_scripts, loads

__all__ = ["BPMN_NS", "CAMUNDA_NS", "MAX_STEPS", "MAX_XML_BYTES", "NS", "DiagramError", "EngineError", "MigrationPlan",
           "Parsed", "Problem", "ServiceCall", "Step", "TaskInfo", "clock", "complete", "dumps", "executable_process",
           "has_scripts", "is_completed", "json_safe", "lane_org_type", "lint", "loads", "migrate", "migration_plan",
           "next_timer_at", "now", "process_key", "read_form", "read_xml", "ready_user_tasks", "retry", "run", "services",
           "start", "step_states", "steps_of", "task_state", "to_datetime", "user_steps"]
