"""Processes on cases: the engine (workflows/engine/, the only SpiffWorkflow importer), its sandbox, forms,
operations, assignment, the working-day calendar, deployed versions, work items, timers, and the designer's
drafts, diffs and migrations. Services flush, never commit."""
