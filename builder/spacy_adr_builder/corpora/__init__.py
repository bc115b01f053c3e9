"""Readers and converters for the ADR corpora: one module per source."""
