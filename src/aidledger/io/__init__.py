"""Imports and exports: files in, files out, all through the layers below."""
