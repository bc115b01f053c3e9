"""Every custom Token/Span/Doc attribute of spacy_adr, installed idempotently in one place.

Predictions live in built-in slots (doc.cats, doc.ents, span.kb_id_); these attributes only
carry extras.
"""
from spacy.tokens import Span, Token

# B/I/O tag of the ADR gazetteer, written by `adr_gazetteer`.
if not Token.has_extension("adr_gaz"):
    Token.set_extension("adr_gaz", default="O")

# MedDRA term name of a span whose kb_id_ is an LLT code (gold data and the linker).
if not Span.has_extension("meddra_term"):
    Span.set_extension("meddra_term", default="")
