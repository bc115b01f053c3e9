"""Training beyond `spacy train`: the linker (`linker`), tweet classifier ensembles
(`textcat_ensemble`), NER ensembles and the span voting that distillation's teachers use
(`ner_ensemble`), fine-tune configs (`finetune`), static vectors for the CNN classifier
(`vectors`) and masked-LM pre-training of an encoder (`mlm`). Scores and evaluations live in
`spacy_adr.evaluation` (`spacy_adr/evaluation/`)."""
