"""Typed read functions for auditors: reconciliation, and later audit totals and statements."""
