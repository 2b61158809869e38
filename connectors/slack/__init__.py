"""Slack: Events API, the /steward slash command and Block Kit interactivity, delivered through slack_sdk."""
