import spacy
from spacy.tokens import Span

from spacy_adr.visualize import displacy_data, render


def linked_doc():
    nlp = spacy.blank("en")
    doc = nlp("cipro gave me a headache")
    ent = Span(doc, 4, 5, label="ADR", kb_id="10019211")
    doc.ents = [ent]
    doc.ents[0]._.meddra_term = "Headache"
    doc.cats = {"ADR": 0.93}
    return doc


def test_displacy_data_names_the_meddra_term_and_code():
    data = displacy_data(linked_doc())
    assert data["ents"] == [{"start": 16, "end": 24, "label": "ADR: Headache", "kb_id": "10019211"}]
    assert data["title"] == "ADR probability 0.93"


def test_render_shows_term_and_code():
    html = render(linked_doc(), jupyter=False)
    assert "ADR: Headache" in html and "10019211" in html and "headache" in html
