"""Exports of a ledger for other tools: Beancount, hledger, CSV, IATI 2.03 and an HTML audit report.

Every export carries pseudonyms and counts only, never personal data.
"""
