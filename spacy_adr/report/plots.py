"""The report's plots, drawn with matplotlib as PNG files from the figures of `figures`.

matplotlib's Agg backend is chosen before pyplot is imported, so that a report can be made on
a machine without a display (CI, a server).
"""
from pathlib import Path
from typing import Any, Dict, List

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DPI = 100
SIZE = (5.0, 3.6)


def save_figure(fig: Any, path: Path) -> Path:
    """Write a matplotlib figure as PNG (creating its folder) and close it; the signal pages use it too.

    fig (Any): The figure.
    path (Path): The PNG file.
    RETURNS (Path): `path`.
    """
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def textcat_plots(name: str, figures: Dict[str, Any], folder: Path) -> List[Path]:
    """Precision-recall curve with the stored threshold marked, and F1 against threshold.

    name (str): The split, e.g. "en_dev" (part of the file names and titles).
    figures (Dict[str, Any]): `figures.textcat_figures` output.
    folder (Path): Where the PNG files go.
    RETURNS (List[Path]): The two files.
    """
    curve = figures["curve"]
    threshold = figures["threshold"]
    at = figures["at_threshold"]
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot([row["r"] for row in curve], [row["p"] for row in curve], color="tab:blue")
    if at is not None:
        ax.plot([at["r"]], [at["p"]], "o", color="tab:red", label=f"stored threshold {threshold:.2f}")
        ax.legend(loc="lower left")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02),
           title=f"ADR tweets, {name}: precision against recall")
    ax.grid(alpha=0.3)
    pr = save_figure(fig, folder / f"textcat_{name}_pr.png")

    fig, ax = plt.subplots(figsize=SIZE)
    xs = [row["threshold"] for row in curve]
    for key, color in (("p", "tab:green"), ("r", "tab:orange"), ("f", "tab:blue")):
        ax.plot(xs, [row[key] for row in curve], color=color, label={"p": "precision", "r": "recall", "f": "F1"}[key])
    if threshold is not None:
        ax.axvline(threshold, color="tab:red", linestyle="--", label=f"stored {threshold:.2f}")
    ax.set(xlabel="decision threshold", ylabel="score", xlim=(0, 1), ylim=(0, 1.02),
           title=f"ADR tweets, {name}: scores against threshold")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    f1 = save_figure(fig, folder / f"textcat_{name}_threshold.png")
    return [pr, f1]


def grouped_bars(title: str, groups: Dict[str, Dict[str, float]], path: Path) -> Path:
    """Strict and relaxed P/R/F1 side by side for each group (span length, gazetteer tag).

    title (str): Plot title.
    groups (Dict[str, Dict[str, float]]): Group -> strict_p/r/f, relaxed_p/r/f, n_gold.
    path (Path): The PNG file.
    RETURNS (Path): `path`.
    """
    keys = ["strict_p", "strict_r", "strict_f", "relaxed_p", "relaxed_r", "relaxed_f"]
    colors = ["#9ecae1", "#4292c6", "#08519c", "#fdae6b", "#f16913", "#a63603"]
    names = list(groups)
    width = 0.8 / len(keys)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for i, (key, color) in enumerate(zip(keys, colors)):
        xs = [j + (i - len(keys) / 2 + 0.5) * width for j in range(len(names))]
        ax.bar(xs, [groups[n][key] for n in names], width, color=color, label=key.replace("_", " "))
    ax.set_xticks(range(len(names)), [f"{n}\n(gold {groups[n]['n_gold']}, pred {groups[n]['n_pred']})" for n in names])
    # Headroom above 1 keeps the legend off the bars.
    ax.set(ylim=(0, 1.3), yticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0], ylabel="score", title=title)
    ax.legend(fontsize="x-small", ncol=6, loc="upper center")
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path)


def linker_plots(figures: Dict[str, Any], folder: Path) -> List[Path]:
    """acc@1 against the distance threshold (stored threshold marked), and seen vs unseen.

    figures (Dict[str, Any]): `figures.linker_figures` output.
    folder (Path): Where the PNG files go.
    RETURNS (List[Path]): The two files.
    """
    curve = figures["curve"]
    xs = [row["threshold"] for row in curve]
    fig, ax = plt.subplots(figsize=SIZE)
    ax.plot(xs, [row["acc1"] for row in curve], color="tab:blue", label="all mentions")
    ax.plot(xs, [row["acc1_seen"] for row in curve], color="tab:green", linestyle=":", label="seen concepts")
    ax.plot(xs, [row["acc1_unseen"] for row in curve], color="tab:orange", linestyle=":", label="unseen concepts")
    ax.axvline(figures["threshold"], color="tab:red", linestyle="--", label=f"stored {figures['threshold']:.2f}")
    ax.set(xlabel="distance threshold (below: metric path, else classifier)", ylabel="acc@1",
           ylim=(0, 1.02), title="MedDRA linking: acc@1 against threshold")
    ax.legend(fontsize="small", loc="best")
    ax.grid(alpha=0.3)
    curve_path = save_figure(fig, folder / "linker_threshold.png")

    fig, ax = plt.subplots(figsize=SIZE)
    variants = ["classifier", "metric", "combined"]
    subsets = [("acc1", "all", "tab:blue"), ("acc1_seen", "seen", "tab:green"), ("acc1_unseen", "unseen", "tab:orange")]
    width = 0.25
    for i, (key, label, color) in enumerate(subsets):
        ax.bar([j + (i - 1) * width for j in range(len(variants))], [figures[v][key] for v in variants], width, color=color, label=label)
    combined = figures["combined"]
    ax.set_xticks(range(len(variants)), variants)
    ax.set(ylim=(0, 1.2), yticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0], ylabel="acc@1",
           title=f"Seen ({combined['n_seen']}) vs unseen ({combined['n_unseen']}) concepts")
    ax.legend(fontsize="small", ncol=3, loc="upper center")
    ax.grid(axis="y", alpha=0.3)
    bars_path = save_figure(fig, folder / "linker_seen_unseen.png")
    return [curve_path, bars_path]
