"""spaCy components that find adverse drug reactions (ADRs) in tweets."""
from . import extensions  # noqa: F401  (installs Token/Span/Doc._ attributes)

__version__ = "0.1.0"
