"""Evaluating a trained linker folder: acc@1 on gold mentions (`spacy_adr.linker_scoring`) at
several thresholds, the dev mentions of tweets unseen in training apart, and the speed and memory
of its nearest-concept search."""
import os
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from spacy_adr.linker_scoring import THRESHOLDS, Mention, accuracy_rows, read_docbin_mentions
from spacy_adr.metrics import machine_description, write_rows
from spacy_adr.pipeline.concept_linker import MeddraLinker

from ..corpora.multitask import read_tweet_keys, tweet_key


def _in(keys: Set[str]) -> Callable[[str], bool]:
    """RETURNS (Callable[[str], bool]): Whether a text's `tweet_key` is one of `keys`."""
    return lambda text: tweet_key(text) in keys


def _rss_mb() -> float:
    with open("/proc/self/statm") as file:
        pages = int(file.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def folder_mb(path: Path) -> float:
    """RETURNS (float): Size of the files under `path`, in MB (2**20 bytes)."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def load_linker_measured(path: Path) -> Tuple[MeddraLinker, Dict[str, float]]:
    """Load a trained linker folder, measuring the time and the memory it adds.

    path (Path): A folder written by `train_linker` / `MeddraLinker.to_disk`.
    RETURNS (Tuple[MeddraLinker, Dict[str, float]]): The linker and {"load_s", "added_rss_mb",
        "disk_mb"}; torch and sentence-transformers are imported before the baseline, since a
        transformer pipeline has them loaded anyway.
    """
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401

    before = _rss_mb()
    t = time.perf_counter()
    linker = MeddraLinker().from_disk(path)
    load_s = time.perf_counter() - t
    return linker, {"load_s": load_s, "added_rss_mb": _rss_mb() - before, "disk_mb": folder_mb(path)}


def measure_search(linker: MeddraLinker, mentions: Sequence[Mention], *, batch_size: int = 256, repeat: int = 3) -> Dict[str, float]:
    """Speed of nearest-concept search over all names, and of linking with encoding.

    linker (MeddraLinker): An initialized linker.
    mentions (Sequence[Mention]): Mentions to time on.
    batch_size (int): Mentions per search call.
    repeat (int): Passes over the mentions for the search timing.
    RETURNS (Dict[str, float]): {"search_mentions_per_s", "link_mentions_per_s", "n_names"}.
    """
    import torch

    texts = [m.text for m in mentions]
    t = time.perf_counter()
    vectors = linker.encode(texts)
    linker.link_vectors(vectors, top_k=0)
    link_s = time.perf_counter() - t
    linker.index.search(vectors[:batch_size], k=1)
    t = time.perf_counter()
    for _ in range(repeat):
        for i in range(0, len(vectors), batch_size):
            linker.index.search(vectors[i : i + batch_size], k=1)
    search_s = time.perf_counter() - t
    return {
        "search_mentions_per_s": repeat * len(vectors) / search_s,
        "link_mentions_per_s": len(vectors) / link_s,
        "n_names": len(linker.index),
        "threads": torch.get_num_threads(),
    }


def evaluate_linker(
    linker_dir: Path,
    dev: Path,
    *,
    output: Optional[Path] = None,
    thresholds: Iterable[float] = THRESHOLDS,
    train: Optional[Path] = None,
    command: str = "spacy-adr-builder evaluate-linker",
) -> List[Dict[str, Any]]:
    """Evaluate a trained linker on gold mentions and time it; write the metrics rows.

    linker_dir (Path): A folder written by `train_linker`.
    dev (Path): A `.spacy` file with gold ADR spans and LLT codes (`corpus/task3/dev.spacy`).
    output (Optional[Path]): JSON file for the rows (e.g. metrics/linker_task3_dev.json).
    thresholds (Iterable[float]): Thresholds of the combined rows.
    train (Optional[Path]): The training `.spacy` file: adds classifier, metric and combined
        rows (split "task3_dev_new_tweets") on the dev mentions of tweets whose text is not in
        it, since the official splits share some tweets and the linker remembers train mentions.
    command (str): The command, recorded in the rows.
    RETURNS (List[Dict[str, Any]]): acc@1 rows (classifier, metric, combined per threshold,
        and "combined" at the stored threshold) and one `speed` row.
    """
    linker, memory = load_linker_measured(Path(linker_dir))
    if linker.classifier is None:
        raise ValueError(f"{linker_dir}: the linker has no classifier to evaluate")
    mentions = read_docbin_mentions(dev, source="dev")
    split = "task3_dev"
    thresholds = sorted(set(thresholds) | {round(linker.threshold, 4)})
    rows = accuracy_rows(linker, mentions, thresholds=thresholds, split=split, command=command)
    stored = next(r for r in rows if r.get("threshold") == round(linker.threshold, 4))
    rows.append({**stored, "variant": "combined"})
    if train is not None:
        new = read_docbin_mentions(dev, source="dev", skip=_in(read_tweet_keys([Path(train)])))
        new_rows = accuracy_rows(linker, new, thresholds=[linker.threshold], split="task3_dev_new_tweets", command=command)
        rows += [{**r, "variant": "combined"} if "threshold" in r else r for r in new_rows]
    speed = measure_search(linker, mentions)
    rows.append({
        "task": "speed", "variant": "nearest-concept search", "split": "linker",
        "mentions_per_s": speed["search_mentions_per_s"],
        "link_mentions_per_s": speed["link_mentions_per_s"],
        "n_names": speed["n_names"], "threads": speed["threads"],
        "added_rss_mb": memory["added_rss_mb"], "disk_mb": memory["disk_mb"], "load_s": memory["load_s"],
        "n": len(mentions), "command": command, "machine": machine_description(), "date": date.today().isoformat(),
    })
    if output is not None:
        write_rows(output, rows, command=command)
    return rows
