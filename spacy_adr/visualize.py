"""displaCy for ADR tweets: each ADR span labelled with its MedDRA term and code.

    from spacy_adr.visualize import render
    html = render(nlp.pipe(tweets), jupyter=False)

displaCy's own entity view shows only `ent.label_`; here the label of a linked span reads
"ADR: Headache" and links to its LLT code (`kb_url_template`), and the tweet's ADR
probability is the title.
"""
from typing import Any, Dict, Iterable, List, Optional, Union

from spacy import displacy
from spacy.tokens import Doc

from . import extensions  # noqa: F401  (installs Span._.meddra_term)


def displacy_data(doc: Doc, label: str = "ADR") -> Dict[str, Any]:
    """The manual displaCy "ent" data of one annotated tweet.

    doc (Doc): A tweet processed by the pipeline.
    label (str): The category whose probability becomes the title.
    RETURNS (Dict[str, Any]): {"text", "ents": [{"start", "end", "label", "kb_id"}], "title"}.
    """
    ents = []
    for ent in doc.ents:
        term = ent._.meddra_term
        ents.append({
            "start": ent.start_char,
            "end": ent.end_char,
            "label": f"{ent.label_}: {term}" if term else ent.label_,
            "kb_id": ent.kb_id_,
        })
    probability = doc.cats.get(label)
    title = None if probability is None else f"{label} probability {probability:.2f}"
    return {"text": doc.text, "ents": ents, "title": title}


def render(
    docs: Union[Doc, Iterable[Doc]], *, kb_url_template: Optional[str] = None,
    page: bool = False, jupyter: Optional[bool] = None, colors: Optional[Dict[str, str]] = None,
) -> str:
    """Render tweets with their ADR spans, MedDRA terms and codes as HTML.

    docs (Union[Doc, Iterable[Doc]]): Annotated tweets.
    kb_url_template (Optional[str]): Link of a code; "{}" becomes the LLT code.
    page (bool): Render a full HTML page.
    jupyter (Optional[bool]): Display in a notebook (None: detect).
    colors (Optional[Dict[str, str]]): Label -> colour; every "ADR: ..." label is red by default.
    RETURNS (str): The HTML (empty when displayed in a notebook).
    """
    docs = [docs] if isinstance(docs, Doc) else list(docs)
    data: List[Dict[str, Any]] = [displacy_data(doc) for doc in docs]
    labels = sorted({ent["label"] for item in data for ent in item["ents"]})
    palette = {name: "#f4a6a6" for name in labels}
    palette.update(colors or {})
    options = {"colors": palette, "ents": labels}
    if kb_url_template:
        options["kb_url_template"] = kb_url_template
    return displacy.render(data, style="ent", manual=True, page=page, jupyter=jupyter, options=options)
