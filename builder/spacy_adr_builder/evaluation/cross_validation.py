"""K-fold cross-validation of a NER training recipe on folds written by `split-folds`."""
import time
from pathlib import Path
from statistics import mean
from typing import Dict, List, Union

from spacy.cli.train import train

from .ner import evaluate_ner


def fold_folders(folds_dir: Union[str, Path]) -> List[Path]:
    """RETURNS (List[Path]): The `fold{k}` folders of `folds_dir`, each with train/test.spacy."""
    folders = sorted(Path(folds_dir).glob("fold*"), key=lambda path: int(path.name[len("fold"):]))
    incomplete = [str(folder) for folder in folders
                  if not (folder / "train.spacy").exists() or not (folder / "test.spacy").exists()]
    if not folders or incomplete:
        raise ValueError(f"{folds_dir}: expected fold0/, fold1/, ... each with train.spacy and test.spacy "
                         f"(spacy-adr-builder split-folds){'; incomplete: ' + ', '.join(incomplete) if incomplete else ''}")
    return folders


def cross_validate_ner(
    config_path: Union[str, Path], folds_dir: Union[str, Path], output_dir: Union[str, Path], *,
    overrides: Dict[str, object], label: str = "ADR", use_gpu: int = -1,
) -> List[Dict[str, object]]:
    """Train the recipe once per fold and score its last model on the held-out fold.

    Each fold trains on `fold{k}/train.spacy` (as `paths.train_spans`) and is scored on
    `fold{k}/test.spacy`, which is also its dev corpus for the training log. The model scored
    is model-last, not model-best: choosing the best checkpoint on the test fold would favour it.

    config_path (Union[str, Path]): Training config, e.g. configs/multitask.cfg.
    folds_dir (Union[str, Path]): Folder of `fold{k}/` folders.
    output_dir (Union[str, Path]): Receives one trained pipeline per fold.
    overrides (Dict[str, object]): Config overrides applied to every fold.
    label (str): Entity label scored.
    use_gpu (int): GPU id, -1 for the CPU.
    RETURNS (List[Dict[str, object]]): Per fold, then the mean: "split", strict_p/r/f,
        relaxed_p/r/f, n_pred, n_gold, n, "train_minutes".
    """
    rows = []
    for folder in fold_folders(folds_dir):
        fold_output = Path(output_dir) / folder.name
        fold_overrides = {**overrides, "paths.train_spans": str(folder / "train.spacy"),
                          "paths.dev_spans": str(folder / "test.spacy")}
        started = time.monotonic()
        train(config_path, fold_output, use_gpu=use_gpu, overrides=fold_overrides)
        minutes = (time.monotonic() - started) / 60
        scores = evaluate_ner(fold_output / "model-last", folder / "test.spacy", label=label)["ner"]
        rows.append({"split": f"{Path(folds_dir).name}_{folder.name}", **scores, "train_minutes": round(minutes, 1)})
    averaged = {key: mean(row[key] for row in rows) for key in rows[0] if key != "split"}
    rows.append({"split": f"{Path(folds_dir).name}_cv{len(rows)}_mean", **averaged})
    return rows
