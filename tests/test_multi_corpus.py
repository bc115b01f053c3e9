import pytest
def test_multi_corpus_reads_every_file(tmp_path):
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    for name, texts in {"a": ["one", "two"], "b": ["three"]}.items():
        DocBin(docs=[nlp(t) for t in texts]).to_disk(tmp_path / f"{name}.spacy")
    reader = spacy.registry.readers.get("spacy-adr.MultiCorpus.v1")(
        [tmp_path / "a.spacy", tmp_path / "b.spacy"]
    )
    assert [eg.reference.text for eg in reader(nlp)] == ["one", "two", "three"]
    with pytest.raises(ValueError, match="missing.spacy"):
        spacy.registry.readers.get("spacy-adr.MultiCorpus.v1")([tmp_path / "missing.spacy"])
