"""spaCy components that find adverse drug reactions (ADRs) in tweets."""
from . import extensions  # noqa: F401  (installs Token/Span/Doc._ attributes)
from . import fork_guard

fork_guard.install()

__version__ = "0.1.0"
