"""The pain.001 XSDs, from the sepaxml package's data (a test dependency; aidledger ships no schema)."""

from __future__ import annotations

import functools
import importlib.resources

from lxml import etree


@functools.cache
def pain001_schema(version: str) -> etree.XMLSchema:
    """The XSD of pain.``version`` (``001.001.03`` or ``001.001.09``) as shipped in ``sepaxml/schemas``."""
    path = importlib.resources.files("sepaxml") / "schemas" / f"pain.{version}.xsd"
    return etree.XMLSchema(etree.fromstring(path.read_bytes()))
