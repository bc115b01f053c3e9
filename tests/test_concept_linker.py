"""The terminology-neutral KB and linker (`adr_concept_linker`): the TSV loader, a linker on a
toy 20-concept non-MedDRA KB, `train-linker --kb tsv:PATH`, and old MedDRA linker folders
loading unchanged. The encoder is the tiny random one of test_meddra_linker."""
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import Span
from typer.testing import CliRunner

from spacy_adr.errors import InputError
from spacy_adr.kb.concepts import ConceptKB, load_kb, read_concept_tsv
from spacy_adr.kb.meddra import MeddraKB
from spacy_adr_builder.training.linker import train_classifier, train_metric_encoder
from spacy_adr_builder.training.linker_data import read_mentions
from spacy_adr.pipeline.concept_linker import ConceptLinker, MeddraLinker

from test_meddra_linker import encoder_dir  # noqa: F401  (the tiny sentence encoder fixture)

TERMS = Path(__file__).parent / "fixtures" / "linker" / "terms.tsv"
TERM_MENTIONS = Path(__file__).parent / "fixtures" / "linker" / "terms_mentions.tsv"


@pytest.fixture(scope="module")
def terms() -> ConceptKB:
    return read_concept_tsv(TERMS, label="toy terms")


def test_tsv_loader_synonyms_and_parents(terms):
    assert len(terms) == 20 and terms.codes[:3] == ["SYM-PAIN", "SYM-HEAD", "SYM-BACK"]
    assert terms.name("SYM-HEAD") == "Head pain" and terms.names_of("SYM-HEAD") == ["Head pain", "Headache"]
    assert terms.parent("SYM-HEAD") == "SYM-PAIN" and terms.parent("SYM-PAIN") == "SYM-PAIN"
    names, codes = terms.entries()
    assert len(names) == 25 and codes.count("SYM-INS") == 2
    # to_disk writes the same format, so a linker's kb.tsv is a valid input.
    again = ConceptKB().from_bytes(terms.to_bytes())
    assert [(c.code, c.names, c.parent) for c in again] == [(c.code, c.names, c.parent) for c in terms]


@pytest.mark.parametrize(
    "content,line,problem",
    [
        ("A\tAlpha\nB\n", 2, "expected 2 or 3 tab-separated fields"),
        ("A\tAlpha\n\tBeta\n", 2, "is empty or has whitespace"),
        ("A\tAlpha\nB\t  \n", 2, "empty name for code B"),
        ("A\tAlpha\nB\tBeta\tA\nB\tBeta 2\tC\n", 3, "has parent 'C' here but 'A' on line 2"),
        ("A\tAlpha\tZ\n", 1, "parent Z of A is not a code of this file"),
        ("A\tAlpha\nB\tB\xe9ta\n".encode("latin-1"), 2, "not UTF-8"),
        ("A\tAlpha\tx\ty\n", 1, "found 4"),
    ],
)
def test_tsv_loader_bad_rows_name_file_and_line(tmp_path, content, line, problem):
    path = tmp_path / "terms.tsv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf8"))
    with pytest.raises(InputError, match=problem) as err:
        read_concept_tsv(path)
    assert (err.value.path, err.value.line) == (str(path), line)


def test_load_kb_specs(tmp_path, fixtures_dir):
    assert isinstance(load_kb(f"tsv:{TERMS}"), ConceptKB)
    assert isinstance(load_kb(TERMS), ConceptKB)  # recognised by its header
    meddra = fixtures_dir / "meddra" / "llt.tsv"
    assert isinstance(load_kb(f"meddra:{meddra}"), MeddraKB) and isinstance(load_kb(meddra), MeddraKB)
    resolved = spacy.registry.resolve({"kb": {"@misc": "spacy-adr.concept_kb.v1", "path": f"tsv:{TERMS}", "label": "toy"}})
    assert resolved["kb"].label == "toy" and len(resolved["kb"]) == 20
    assert "adr_concept_linker" in spacy.registry.factories


@pytest.fixture(scope="module")
def trained_terms_linker(terms, encoder_dir):  # noqa: F811
    mentions = read_mentions(TERM_MENTIONS, source="task3")
    encoder = train_metric_encoder(mentions, terms, base_model=encoder_dir, steps=3, batch_size=8, progress=False)
    linker = ConceptLinker(top_k=3)
    linker.encoder = encoder
    head = train_classifier(linker.encode([m.text for m in mentions]), [m.code for m in mentions], epochs=200)
    linker.set_parts(kb=terms, encoder=encoder, classifier=head)
    linker.add_mentions([m.text for m in mentions], [m.code for m in mentions])
    return linker


def _with_ents(nlp, text, spans):
    doc = nlp.make_doc(text)
    doc.ents = [Span(doc, s, e, label="ADR") for s, e in spans]
    return doc


def test_linker_on_a_non_meddra_kb_round_trip(tmp_path, trained_terms_linker):
    linker = trained_terms_linker
    assert len(linker.index) == 25 + 18 and linker.n_mentions == 18
    # Synonyms are names of the metric path; a concept no mention has is reached by name.
    assert linker.link_texts(["Sleeplessness", "Hair loss", "sore back"], threshold=0.5)[0].code == "SYM-INS"
    assert linker.link_texts(["Hair loss"], threshold=0.5)[0].code == "SYM-HAIR"
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_concept_linker", config={"top_k": 2, "threshold": 0.5})
    linker.to_disk(tmp_path / "trained")
    assert srsly.read_json(tmp_path / "trained" / "cfg")["kb_format"] == "concepts"
    nlp.config["initialize"]["components"]["adr_concept_linker"] = {"trained": str(tmp_path / "trained")}
    nlp.initialize()
    texts = [("Sleeplessness again", [(0, 1)]), ("so sleepy and itchy", [(0, 2), (3, 4)]), ("Hair loss", [(0, 2)])]
    before = [[(e.kb_id_, e._.concept_name, e._.link_method) for e in nlp.get_pipe("adr_concept_linker")(_with_ents(nlp, t, s)).ents]
              for t, s in texts]
    assert before[0] == [("SYM-INS", "Insomnia", "metric")] and before[2][0][:2] == ("SYM-HAIR", "Hair loss")
    nlp.to_disk(tmp_path / "pipe")
    loaded = spacy.load(tmp_path / "pipe")
    component = loaded.get_pipe("adr_concept_linker")
    assert isinstance(component.kb, ConceptKB) and component.kb.label == "toy terms"
    docs = [component(_with_ents(loaded, t, s)) for t, s in texts]
    assert [[(e.kb_id_, e._.concept_name, e._.link_method) for e in d.ents] for d in docs] == before
    ent = docs[0].ents[0]
    assert [c["code"] for c in ent._.concept_candidates][0] == "SYM-INS" and len(ent._.concept_candidates) == 2
    assert ent._.meddra_term == "" and ent._.meddra_candidates is None  # MedDRA extras only for MedDRA
    with pytest.raises(ValueError, match="not in the toy terms KB"):
        component.add_mentions(["blah"], ["10019211"])


def test_old_meddra_linker_folder_loads_unchanged(tmp_path, fixtures_dir, encoder_dir):  # noqa: F811
    from spacy_adr.kb.meddra import load_meddra

    linker = MeddraLinker()
    linker.initialize(kb=load_meddra(fixtures_dir / "meddra" / "llt.tsv"), encoder=encoder_dir)
    linker.to_disk(tmp_path / "old")
    # A folder written before the general KB: no kb_format in cfg.
    cfg = srsly.read_json(tmp_path / "old" / "cfg")
    del cfg["kb_format"]
    srsly.write_json(tmp_path / "old" / "cfg", cfg)
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_meddra_linker")
    nlp.config["initialize"]["components"]["adr_meddra_linker"] = {"trained": str(tmp_path / "old")}
    nlp.initialize()
    component = nlp.get_pipe("adr_meddra_linker")
    assert isinstance(component, ConceptLinker) and isinstance(component.kb, MeddraKB)
    doc = component(_with_ents(nlp, "Alopecia today", [(0, 1)]))
    ent = doc.ents[0]
    assert (ent.kb_id_, ent._.meddra_term, ent._.meddra_pt_term, ent._.concept_name) == ("10001760", "Alopecia", "Alopecia", "Alopecia")


def test_cli_train_linker_with_a_tsv_kb(tmp_path, encoder_dir):  # noqa: F811
    from spacy_adr_builder.cli import app

    runner = CliRunner()
    args = ["train-linker", str(tmp_path / "linker"), "--kb", f"tsv:{TERMS}", "--train", str(TERM_MENTIONS),
            "--dev", str(TERM_MENTIONS), "--base-model", str(encoder_dir), "--epochs", "0.5", "--batch-size", "8"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    linker = ConceptLinker().from_disk(tmp_path / "linker")
    assert isinstance(linker.kb, ConceptKB) and linker.n_mentions == 18
    bad = tmp_path / "bad.tsv"
    bad.write_text("my head hurts\tSYM-HEAD\njust text\n", encoding="utf8")
    result = runner.invoke(app, args[:5] + [str(bad)] + args[6:])
    # wasabi wraps long messages.
    assert result.exit_code == 1 and f"{bad}:2: expected mention<TAB>code" in " ".join(result.output.split())
    result = runner.invoke(app, ["train-linker", str(tmp_path / "x"), "--train", str(TERM_MENTIONS), "--dev", str(TERM_MENTIONS)])
    assert result.exit_code == 1 and "either --meddra PATH or --kb" in " ".join(result.output.split())


