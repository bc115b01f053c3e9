"""`spacy-adr label-silver`: a teacher NER (or K voting) marks ADR spans on unlabelled tweets,
dev tweets left out, for a student to train on (`spacy-adr.DistillCorpus.v1`); `label-soft`: a
teacher classifier scores tweets, soft labels for a student classifier."""
import json
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from . import app


@app.command("label-silver")
def label_silver_cli(
    output: Path = typer.Argument(..., help="Silver corpus to write (.spacy)."),
    teachers: List[str] = typer.Option(..., "--teacher", help="Teacher NER pipeline (repeatable: the members vote)."),
    sources: List[Path] = typer.Option(..., "--from", help="Corpora whose texts are labelled (.spacy or .txt; repeatable)."),
    exclude: List[Path] = typer.Option([], "--exclude", help="Dev corpora whose texts are left out (repeatable)."),
    min_votes: int = typer.Option(0, "--min-votes", help="Votes a span needs; 0: a majority of the teachers."),
    category: Optional[str] = typer.Option(None, "--category", help="Only documents with doc.cats[CATEGORY] >= 0.5 (e.g. ADR)."),
    limit: int = typer.Option(0, "--limit", help="Label at most this many texts, drawn at random; 0: all."),
    keep_empty: bool = typer.Option(False, "--keep-empty", help="Also keep texts with no agreed span."),
    summary_path: Optional[Path] = typer.Option(None, "--summary", help="Write the counts as JSON here."),
) -> None:
    """Label tweets with a teacher's ADR spans for distillation."""
    from spacy.tokens import DocBin

    from ..corpora.silver import label_silver, silver_texts

    votes = min_votes or len(teachers) // 2 + 1
    try:
        texts = silver_texts(sources, exclude, category=category, limit=limit)
        docs, counts = label_silver(teachers, texts, min_votes=votes, keep_empty=keep_empty)
    except (OSError, ValueError) as error:
        msg.fail(str(error), exits=1)
    output.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=True).to_disk(output)
    counts = {**counts, "teachers": list(teachers), "min_votes": votes, "category": category}
    if summary_path:
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(json.dumps(counts, indent=2) + "\n", encoding="utf8")
    msg.good(f"Wrote {output}: {counts['docs']:,} of {counts['texts']:,} texts with {counts['spans']:,} spans "
             f"({votes} of {len(teachers)} teachers agreeing; {counts['seconds']} s)")


@app.command("label-soft")
def label_soft_cli(
    output: Path = typer.Argument(..., help="Soft-labelled corpus to write (.spacy)."),
    teacher: str = typer.Option(..., "--teacher", help="Teacher classifier pipeline (writes doc.cats[LABEL])."),
    sources: List[Path] = typer.Option(..., "--from", help="Corpora whose texts are scored (.spacy or .txt; repeatable); gold categories in them join the targets."),
    exclude: List[Path] = typer.Option([], "--exclude", help="Dev corpora whose texts are left out (repeatable)."),
    gold_weight: float = typer.Option(0.5, "--gold-weight", help="Weight of the gold class in a target (0: the teacher alone)."),
    label: str = typer.Option("ADR", "--label", help="The category."),
    summary_path: Optional[Path] = typer.Option(None, "--summary", help="Write the counts as JSON here."),
) -> None:
    """Score tweets with a teacher classifier: soft labels for a student classifier."""
    from spacy.tokens import DocBin

    from ..corpora.silver import gold_categories, label_soft, silver_texts

    try:
        texts = silver_texts(sources, exclude)
        docs, counts = label_soft(teacher, texts, gold_categories(sources, label), label=label, gold_weight=gold_weight)
    except (OSError, ValueError) as error:
        msg.fail(str(error), exits=1)
    output.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, attrs=["ORTH"]).to_disk(output)
    counts = {**counts, "teacher": teacher, "sources": [str(s) for s in sources]}
    if summary_path:
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(json.dumps(counts, indent=2) + "\n", encoding="utf8")
    msg.good(f"Wrote {output}: {counts['texts']:,} texts, {counts['with_gold']:,} with gold, "
             f"{counts['teacher_positive']:,} the teacher calls {label} ({counts['seconds']} s)")
