"""`spacy-adr-builder package-meta`, `check-wheels` and `data-sources`: what the packages tell their
users, what they ship, and the README's data table."""
import json
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from . import app


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:,.1f} MB" if n_bytes >= 1e5 else f"{n_bytes:,} B"


@app.command("package-meta")
def package_meta_cli(
    pipeline: Path = typer.Argument(..., help="The assembled pipeline folder, e.g. training/en_adr_smm4h.", exists=True, file_okay=False),
    template: Path = typer.Argument(..., help="The package's template, e.g. configs/meta_en.json.", exists=True, dir_okay=False),
    output: Path = typer.Argument(..., help="The meta file to write, for `spacy package --meta-path`."),
    name: str = typer.Option(..., "--name", help="Package name without the language, as given to spacy package (project var `name`)."),
    metrics_dir: Path = typer.Option(Path("metrics"), "--metrics-dir", help="Folder of the metrics files."),
) -> None:
    """Write description, author, url, licence, sources and measured dev performance of a
    package, for `spacy package --meta-path`."""
    from ..packaging.meta import MetaTemplate, build_package_meta, newest_mtime, read_metrics

    lang = json.loads((pipeline / "meta.json").read_text(encoding="utf-8"))["lang"]
    package = name if name.startswith(lang + "_") else f"{lang}_{name}"
    try:
        meta, stale = build_package_meta(
            package, MetaTemplate.from_disk(template), read_metrics(metrics_dir), built_at=newest_mtime(pipeline)
        )
    except (KeyError, ValueError) as error:
        msg.fail(f"{template}: {error}", exits=1)
    for note in stale:
        msg.warn(f"{note}: left out; evaluate-packages measures the new build")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    performance = meta["performance"]
    for record in performance.get("measured", []):
        scores = ", ".join(f"{key} {performance[key]:.3f}" for key in record["scores"])
        msg.text(f"{record['file']} [{record['variant']} / {record['split']}, {record['of']}]: {scores}")
    if not performance:
        msg.warn(f"No metrics rows of {package} or of its parts in {metrics_dir}: meta without performance")
    msg.good(f"Wrote {output} for {package}: licence, {len(meta['sources'])} sources, {sum(isinstance(v, float) for v in performance.values())} scores")


@app.command("check-wheels")
def check_wheels_cli(
    wheels: List[Path] = typer.Argument(..., help="Built wheels, e.g. packages/*/dist/*.whl.", exists=True, dir_okay=False),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="The licensed data folder; defaults to SPACY_ADR_DATA (also when given empty)."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write the full listing to this JSON file, e.g. metrics/wheel_contents.json."),
) -> None:
    """List every file of each wheel, report the components that carry terminology, and fail
    when a file byte-identical to a file of the data folder is inside."""
    from ..data_check import data_dir_from_env
    from ..packaging.wheels import check_wheels

    # `--data-dir=${env.data_dir}` with the variable unset reads as the current folder
    if data_dir is None or str(data_dir) in ("", "."):
        try:
            data_dir = data_dir_from_env()
        except EnvironmentError as error:
            msg.fail(str(error), exits=1)
    try:
        result = check_wheels(wheels, data_dir)
    except (FileNotFoundError, OSError) as error:
        msg.fail(str(error), exits=1)
    for wheel in result.wheels:
        msg.divider(f"{wheel.wheel}: {len(wheel.members)} files, {_size(wheel.size)}")
        msg.table(
            [(member.name, _size(member.size), member.component or "") for member in wheel.members],
            header=("file", "size", "component"),
        )
        for component in wheel.terminology:
            counted = ", ".join(
                f"{member['name']} {member['lines']:,} lines" for member in component.members if "lines" in member
            )
            msg.warn(
                f"{component.name} carries terminology ({_size(component.size)} in {len(component.members)} files"
                f"{'; ' + counted if counted else ''}): {component.terminology}"
            )
        for strings in wheel.vocab_strings:
            msg.warn(
                f"{strings.member}: {strings.strings:,} strings, among them {strings.user_handles:,} @user "
                f"handles and {strings.urls:,} URLs (spaCy keeps the token strings of the texts a "
                "pipeline processed, training and evaluation corpora included)"
            )
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        msg.info(f"Wrote {report}")
    summary = (
        f"{len(result.wheels)} wheel{'s' if len(result.wheels) != 1 else ''} against {result.data_files} files of {data_dir} "
        f"({result.data_files_hashed} hashed: the others have no member of their size)"
    )
    for message in result.messages():
        msg.fail(message)
    if not result.ok:
        msg.fail(f"Licensed data files inside the wheels; {summary}", exits=1)
    msg.good(f"No data file inside; {summary}")


@app.command("data-sources")
def data_sources_cli() -> None:
    """Print the README's table of data sets (use, where to obtain, licence, files) and the data
    folder's layout, from the records check-data uses."""
    from ..packaging.data_table import data_section

    print(data_section(), end="")


@app.command("store-weights")
def store_weights_cli(
    model: Path = typer.Argument(..., help="A saved pipeline folder whose inference settings are written (set-inference)."),
) -> None:
    """Store the Linear weights of the pipeline's bf16 transformers in bf16: half the size on
    disk and in the wheel, the same predictions. Transformers set to fp32, int8 or ONNX
    Runtime keep their fp32 weights."""
    from ..packaging.weights import store_weights

    if not (model / "config.cfg").is_file():
        msg.fail(f"store-weights: {model} is not a saved pipeline (no config.cfg)", exits=1)
    before = sum(path.stat().st_size for path in model.rglob("*") if path.is_file())
    stored = store_weights(model)
    after = sum(path.stat().st_size for path in model.rglob("*") if path.is_file())
    if not stored:
        msg.info(f"{model}: no transformer runs in bf16; weights left as they are")
        return
    names = ", ".join(f"{name} ({count:,} values)" for name, count in stored.items())
    msg.good(f"{model}: bf16 weights stored for {names}; {_size(before)} -> {_size(after)}")
