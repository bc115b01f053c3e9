"""Training beyond `spacy train`: the MedDRA linker. Scores and evaluations live in
`spacy_adr_builder.evaluation`."""
