"""Every custom Token/Span/Doc attribute of spacy_adr, installed idempotently in one place.

Predictions live in built-in slots (doc.cats, doc.ents, span.kb_id_); these attributes only
carry extras.
"""
from spacy.tokens import Doc, Span, Token

# B/I/O tag of the ADR gazetteer, written by `adr_gazetteer`.
if not Token.has_extension("adr_gaz"):
    Token.set_extension("adr_gaz", default="O")

# MedDRA term name of a span whose kb_id_ is an LLT code (gold data and the linker).
if not Span.has_extension("meddra_term"):
    Span.set_extension("meddra_term", default="")

# MedDRA linker (`adr_meddra_linker`): PT code and name of the linked LLT, the score of the
# answer (cosine similarity or softmax probability), which path gave it ("metric" or
# "classifier"), and, when the component's top_k > 0, a list of {"code", "term", "score"}.
if not Span.has_extension("meddra_pt"):
    Span.set_extension("meddra_pt", default="")
if not Span.has_extension("meddra_pt_term"):
    Span.set_extension("meddra_pt_term", default="")
if not Span.has_extension("link_score"):
    Span.set_extension("link_score", default=None)
if not Span.has_extension("link_method"):
    Span.set_extension("link_method", default="")
if not Span.has_extension("meddra_candidates"):
    Span.set_extension("meddra_candidates", default=None)

# Confidence of an ADR span in [0, 1] (written by `adr_span_gate`): the probability the NER
# gave to the transitions that made this span, so users can rank and cut spans.
if not Span.has_extension("adr_score"):
    Span.set_extension("adr_score", default=None)

# The span gate's decision on a tweet (written by `adr_span_gate`): True when it kept the
# tweet's ADR spans, False when it held them back (to doc.spans["adr_candidates"]), None when
# it decided nothing (the NER found no ADR span, or the gate is off).
if not Doc.has_extension("adr_gate_open"):
    Doc.set_extension("adr_gate_open", default=None)

# The drug an ADR span is about (written by `adr_drug_mentions` on the ADR spans of doc.ents):
# the normalised name of one of the tweet's drug mentions (doc.spans["drugs"], each with the
# normalised name as kb_id_), chosen by the component's rule; None when the tweet names none.
if not Span.has_extension("drug"):
    Span.set_extension("drug", default=None)
