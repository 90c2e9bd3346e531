"""The alert tests' fixtures live in `alert_fixtures` (importable by the tests too)."""

from alert_fixtures import clock, recorder, slack_stub, smtp_server, world  # noqa: F401
