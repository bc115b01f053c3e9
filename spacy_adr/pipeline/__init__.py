"""spaCy Pipes (components) of spacy_adr."""
