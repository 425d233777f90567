"""The ``aidledger`` command for auditors: thin wrappers over the Python API."""

from aidledger.cli.app import app, main

__all__ = ["app", "main"]
