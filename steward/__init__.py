"""Steward's composition root: settings, wiring, the CLI and the worker."""
