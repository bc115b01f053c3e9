"""The report's HTML page: one file, its plots beside it in plots/, no scripts, no remote assets."""
import html
from typing import Any, Dict, List, Optional, Sequence

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.plots img { max-width: 49%; border: 1px solid #eee; margin: .2em 0; }
.meta td:first-child { font-weight: 600; }
.note { color: #666; font-size: .9em; }
.examples h2 { font-size: 1em; border: none; margin: 1em 0 0; color: #555; }
"""


def esc(value: Any) -> str:
    """HTML-escaped text of a value (None as an empty cell)."""
    return "" if value is None else html.escape(str(value))


def fmt(value: Any) -> str:
    """A score with three decimals; other values as they are."""
    return f"{value:.3f}" if isinstance(value, float) else esc(value)


def table(header: Optional[Sequence[str]], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table; floats with three decimals, numbers right-aligned; no head row when
    `header` is None."""
    head = "" if header is None else "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead>"
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{fmt(v)}</td>' if isinstance(v, (int, float)) and not isinstance(v, bool) else f"<td>{esc(v)}</td>"
            for v in row
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table>{head}<tbody>{''.join(body)}</tbody></table>"


def images(paths: Sequence[str], alt: str) -> str:
    """Plots side by side; `paths` relative to the page."""
    return '<div class="plots">' + "".join(f'<img src="{esc(p)}" alt="{esc(alt)}">' for p in paths) + "</div>"


def score_table(groups: Dict[str, Dict[str, Any]], first: str) -> str:
    """Strict and relaxed P/R/F1 per group."""
    keys = ["strict_p", "strict_r", "strict_f", "relaxed_p", "relaxed_r", "relaxed_f", "n_pred", "n_gold"]
    return table([first, *keys], [[name, *(values[k] for k in keys)] for name, values in groups.items()])


def render_page(report: Dict[str, Any], sections: List[str]) -> str:
    """The whole page.

    report (Dict[str, Any]): The report's header fields: model, version, command, date, data.
    sections (List[str]): HTML of each section, in order.
    RETURNS (str): The page.
    """
    data_rows = [[d["name"], d["path"], d["n"], d["date"]] for d in report["data"]]
    name = f"{esc(report['model'])} {esc(report['version'])}"
    meta = [
        ["package", report["model"]],
        ["version", report["version"]],
        ["pipeline", ", ".join(report["pipe_names"])],
        ["made", report["date"]],
        ["command", report["command"]],
        ["machine", report["machine"]],
    ]
    data = (
        f"<h3>Data</h3>\n{table(['split', 'file', 'tweets', 'file date'], data_rows)}\n"
        '<p class="note">This page quotes development tweets: keep it local.</p>\n'
    )
    return html_page(f"spacy_adr report: {name}", f"Evaluation report: {name}", meta, [data, *sections])


def html_page(title: str, heading: str, meta: Sequence[Sequence[Any]], sections: Sequence[str]) -> str:
    """A page of the report's style: a heading, a table of what made it, then its sections.

    title (str): The page title, HTML-escaped.
    heading (str): The first heading, HTML-escaped.
    meta (Sequence[Sequence[Any]]): (field, value) rows of the table under the heading.
    sections (Sequence[str]): HTML of each section, in order.
    RETURNS (str): The page.
    """
    head = table(None, meta).replace("<table>", '<table class="meta">', 1)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>{STYLE}</style></head>
<body>
<h1>{heading}</h1>
{head}
{''.join(sections)}
</body></html>
"""


def section(title: str, body: str, anchor: Optional[str] = None) -> str:
    """One titled section."""
    anchor_attr = f' id="{esc(anchor)}"' if anchor else ""
    return f"<section{anchor_attr}><h2>{esc(title)}</h2>{body}</section>\n"
