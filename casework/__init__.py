"""Casework, the core every other service builds on: people, cases, organisations and users (the directory),
information-sharing agreements, reference data, API tokens, imports of legacy spreadsheets, and the domain
errors and validators every service and face shares. Services flush, never commit."""
