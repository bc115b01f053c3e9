"""The signal page's plots, drawn like the evaluation report's (`spacy_adr.report.plots`, whose
import also picks matplotlib's display-free Agg backend)."""
import re
import zlib
from pathlib import Path
from typing import Any, Dict, Sequence

from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

from ..report.plots import SIZE, save_figure, plt

SIGNAL_COLOR = "tab:red"
OTHER_COLOR = "tab:gray"


def top_events_plot(drug: str, rows: Sequence[Dict[str, Any]], folder: Path, *, top: int = 10) -> Path:
    """The events with the most cases of one drug, as bars; signals in red, ROR beside each.

    drug (str): The drug.
    rows (Sequence[Dict[str, Any]]): Its rows of the signal table.
    folder (Path): Where the PNG file goes.
    top (int): Bars drawn.
    RETURNS (Path): The file.
    """
    shown = sorted(rows, key=lambda row: (-row["a"], row["event_code"]))[:top][::-1]
    fig, ax = plt.subplots(figsize=SIZE)
    ys = range(len(shown))
    ax.barh(list(ys), [row["a"] for row in shown], color=[SIGNAL_COLOR if row["signal"] else OTHER_COLOR for row in shown])
    ax.set_yticks(list(ys), [_short(row["event"]) for row in shown], fontsize="small")
    for y, row in zip(ys, shown):
        ax.annotate(f" ROR {row['ror']:.1f}", (row["a"], y), va="center", fontsize="x-small")
    ax.set(xlabel="cases (a)", title=f"{drug}: events with the most cases")
    ax.margins(x=0.25)
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, folder / f"events_{_file_name(drug)}.png")


def volcano_plot(rows: Sequence[Dict[str, Any]], path: Path, *, labelled: int = 5) -> Path:
    """Every drug-event pair as a point: ROR (log scale) against cases (log scale); signals in
    red, the strongest (highest lower bound) named.

    rows (Sequence[Dict[str, Any]]): The signal table.
    path (Path): The PNG file.
    labelled (int): Signals named on the plot.
    RETURNS (Path): `path`.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for flag, color, label in ((False, OTHER_COLOR, "not a signal"), (True, SIGNAL_COLOR, "signal: ROR lower 95 % bound > 1")):
        points = [row for row in rows if row["signal"] is flag]
        if points:
            ax.scatter([row["ror"] for row in points], [row["a"] for row in points], s=14, alpha=0.6, color=color, label=label)
    strongest = sorted((r for r in rows if r["signal"]), key=lambda r: -r["ror_lower"])[:labelled]
    for i, row in enumerate(strongest):
        # Staggered, as the strongest signals often share a count (a = 3).
        ax.annotate(f"{row['drug']}: {_short(row['event'], 22)}", (row["ror"], row["a"]), fontsize="xx-small",
                    xytext=(-4, 6 + 9 * i), textcoords="offset points", ha="right",
                    arrowprops={"arrowstyle": "-", "linewidth": 0.5, "color": "black"})
    ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
    if rows:
        ax.set_xscale("log")
        ax.set_yscale("log")
        # Counts read as counts ("20"), not as powers of ten ("2 x 10^1").
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel="ROR (log scale)", ylabel="cases a (log scale)", title="Drug-event pairs: ROR against cases")
    if rows:
        ax.legend(fontsize="x-small", loc="upper left")
    ax.grid(alpha=0.3, which="both")
    return save_figure(fig, path)


def _short(text: str, width: int = 32) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _file_name(drug: str) -> str:
    # Drug names are free text (a user's lexicon): a file name of safe characters, and a hash
    # so that two names that differ only in unsafe characters get two files.
    safe = re.sub(r"[^a-z0-9]+", "_", drug.lower()).strip("_")[:40] or "drug"
    return safe if safe == drug else f"{safe}_{zlib.crc32(drug.encode()):08x}"

