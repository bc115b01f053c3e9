"""thinc model wiring (architectures) of spacy_adr."""
