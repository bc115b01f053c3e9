"""The signal page: one HTML file, its plots beside it in plots/, in the evaluation report's
style and with its table and section helpers (`spacy_adr.report.page`). It names drugs and
MedDRA terms only, never a tweet."""
from html import escape
from typing import Any, Dict, List, Sequence

from ..report.page import html_page, images, section, table

# Signals listed on the page (the CSV has every pair).
N_TOP_SIGNALS = 50


def summary_section(summary: Dict[str, Any]) -> str:
    """What was read, what became of the spans, and the problems met.

    summary (Dict[str, Any]): `summary.json`'s content.
    RETURNS (str): The section.
    """
    read, spans = summary["read"], summary["spans"]
    body = table(["read", ""], [[key.replace("_", " "), value] for key, value in read.items()])
    body += table(["ADR spans", ""], [[key.replace("_", " "), value] for key, value in spans.items()])
    problems = summary["problems"]
    if problems["counts"]:
        body += "<h3>Problems (counted, not fatal)</h3>"
        body += table(["problem", "times"], list(problems["counts"].items()))
        body += "<h3>Where (the first of each kind)</h3>" + table(None, [[line] for line in problems["examples"]])
    else:
        body += '<p class="note">No problems: every line was a record and every ADR span had a drug field.</p>'
    return section("What was read", body, "read")


def drugs_section(drugs: Sequence[Dict[str, Any]]) -> str:
    """The drug table.

    drugs (Sequence[Dict[str, Any]]): `tables.drug_rows` output.
    RETURNS (str): The section.
    """
    if not drugs:
        return section("Drugs", '<p class="note">No ADR span was attributed to a drug.</p>', "drugs")
    rows = [[row["drug"], row["tweets"], row["cases"], row["events"], row["signals"]] for row in drugs]
    return section("Drugs", table(["drug", "tweets", "cases", "events", "signals"], rows), "drugs")


def windows_section(dates: Dict[str, Any], windows: Sequence[Dict[str, Any]]) -> str:
    """The window table (each window's signal table is in signals_by_window.csv).

    dates (Dict[str, Any]): `summary.json`'s "windows": field, window, dated, undated, bad.
    windows (Sequence[Dict[str, Any]]): `tables.window_rows` output.
    RETURNS (str): The section.
    """
    body = (
        f'<p class="note">Records by the {dates["window"]} of their field <code>{escape(dates["field"])}</code>: '
        f'{dates["dated"]:,} dated, {dates["undated"]:,} without it, {dates["bad"]:,} not a date. Each '
        "window's 2x2 tables use its own cases; its signal table is in signals_by_window.csv.</p>"
    )
    if windows:
        keys = ["window", "tweets", "cases", "drugs", "events", "pairs", "signals"]
        body += table(keys, [[row[key] for key in keys] for row in windows])
    else:
        body += '<p class="note">No window has a case.</p>'
    return section(f"By {dates['window']}", body, "windows")


def signals_section(rows: Sequence[Dict[str, Any]], plots: Sequence[str], *, min_count: int) -> str:
    """The strongest signals, the volcano plot and the top events of the main drugs.

    rows (Sequence[Dict[str, Any]]): The signal table.
    plots (Sequence[str]): Plot paths relative to the page, the volcano plot first.
    min_count (int): The minimum count the table was made with.
    RETURNS (str): The section.
    """
    signals = sorted((row for row in rows if row["signal"]), key=lambda row: -row["ror_lower"])[:N_TOP_SIGNALS]
    keys = ["a", "drug_cases", "event_cases", "prr", "prr_lower", "prr_upper", "ror", "ror_lower", "ror_upper"]
    body = (
        f'<p class="note">A case is one drug-event pair of one tweet. Pairs with at least {min_count} cases; '
        "a signal has an ROR whose lower 95 % bound is above 1. Intervals are log-normal; where a cell of the "
        "2x2 table is 0, 0.5 is added to every cell (marked *).</p>"
    )
    if signals:
        body += f"<h3>The {len(signals)} strongest signals (highest lower bound of the ROR)</h3>"
        body += table(
            ["drug", "event", *keys],
            [[row["drug"], row["event"] + (" *" if row["corrected"] else ""), *(row[k] for k in keys)] for row in signals],
        )
    else:
        body += '<p class="note">No pair is a signal.</p>'
    body += images(plots, "signal plot")
    return section("Signals", body, "signals")


def render_signals_page(meta: Dict[str, Any], sections: List[str]) -> str:
    """The whole page.

    meta (Dict[str, Any]): inputs (list of paths), date, command, machine, level, min_count.
    sections (List[str]): HTML of each section, in order.
    RETURNS (str): The page.
    """
    return html_page("spacy_adr signals", "Drug-event signals", [
        ["inputs", ", ".join(meta["inputs"])],
        ["events", "MedDRA Preferred Terms" if meta["level"] == "pt" else "the spans' own codes (LLT)"],
        ["minimum count", meta["min_count"]],
        ["made", meta["date"]],
        ["command", meta["command"]],
        ["machine", meta["machine"]],
    ], sections)
