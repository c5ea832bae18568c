"""Reporting: the managers' dashboard figures, server-side SVG charts, and the export registry (exports/)
with its spreadsheet builders and background jobs. Reads cases, work items and facts; never workflow state."""
