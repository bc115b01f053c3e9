"""A miniature data folder in the real layout, built from the hand-written fixtures, so that
the project's workflows can run end to end in tests exactly as on the licensed data."""
import hashlib
import shutil
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def make_fixture_data_dir(root: Path) -> Path:
    """Lay out every file the `data` workflow reads, plus a SHA256SUMS over them.

    root (Path): Empty folder to fill.
    RETURNS (Path): `root`, to use as SPACY_ADR_DATA.
    """
    from test_cadec import fixture_files, make_zip
    from test_psytar import sample, write_xlsx

    def copy(source: str, dest: str) -> None:
        (root / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / source, root / dest)

    copy("smm4h_task3/task3_training_sample.tsv", "smm4h2020_task3_en/task3_training.tsv")
    copy("smm4h_task3/task3_validation_sample.tsv", "smm4h2020_task3_en/task3_validation.tsv")
    # fr files have the English columns; ru and fr dev files are labelled like train files;
    # en dev has tweets of its own, so that a stream of unseen NoADR tweets exists.
    for lang, source in (("en", "en"), ("ru", "ru"), ("fr", "en")):
        for split, fixture in (("train", "train"), ("dev", "dev" if lang == "en" else "train"), ("test", "test")):
            copy(f"smm4h_task2/{source}/{fixture}.tsv", f"smm4h2020_task2_classification/{lang}/{split}.tsv")
    (root / "cadec").mkdir(parents=True)
    make_zip(root / "cadec" / "CADEC.v2.zip", fixture_files())
    (root / "psytar").mkdir(parents=True)
    write_xlsx(root / "psytar" / "PsyTAR_dataset.xlsx", sample())
    # six reviews, so that the xx-ner workflow's five folds by review each hold one
    (root / "rudrec").mkdir(parents=True)
    (root / "rudrec" / "rudrec_annotated.json").write_bytes(
        (FIXTURES / "rudrec" / "rudrec_sample.json").read_bytes()
        + (FIXTURES / "rudrec" / "rudrec_more_reviews.json").read_bytes()
    )
    copy("meddra/llt.tsv", "meddra/llt.tsv")
    copy("lexicons/adr_lexicon.txt", "lexicons/kfu_chemtextmining_vocabularies/adr_lexicon.txt")
    for path in sorted((FIXTURES / "smm4h2017").rglob("*.txt")):
        copy(str(path.relative_to(FIXTURES)), "smm4h2017_task3_norm/" + str(path.relative_to(FIXTURES / "smm4h2017")))
    sums = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        sums.append(f"{digest}  ./{path.relative_to(root).as_posix()}")
    (root / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return root
