"""Tests of `spacy-adr signals`: the 2x2 measures by hand, counting cases over annotate
outputs (bad input reported, not fatal), the tables, the page and the command line."""
import csv
import datetime
import gzip
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spacy_adr.cli import app
from spacy_adr.errors import InputError
from spacy_adr.signals import make_signals
from spacy_adr.signals.counting import NO_DRUG_FIELD, count_cases
from spacy_adr.signals.measures import TwoByTwo, disproportionality, is_signal
from spacy_adr.signals.reading import input_files
from spacy_adr.signals.tables import signal_rows
from spacy_adr.signals.terms import NO_PT, SpanTerms, load_pt_map

FIXTURES = Path(__file__).parent / "fixtures"
REL = 1e-5
# An LLT of the fixture MedDRA (tests/fixtures/meddra/llt.tsv): "Feeling sick", PT 10025482 Malaise
ZCODE = "10016365"


def close(row, expected):
    keys = ["prr", "prr_lower", "prr_upper", "ror", "ror_lower", "ror_upper"]
    return all(math.isclose(row[k] if isinstance(row, dict) else getattr(row, k), v, rel_tol=REL) for k, v in zip(keys, expected))


# --- the measures, by hand ------------------------------------------------------------------

def test_measures_without_a_zero_cell():
    # PRR = (10/100) / (20/900) = 4.5; ROR = (10 * 880) / (90 * 20) = 4.888...
    # SE ln PRR = sqrt(1/10 - 1/100 + 1/20 - 1/900) = 0.372678; SE ln ROR = sqrt(1/10 + 1/90 + 1/20 + 1/880)
    measures = disproportionality(TwoByTwo(10, 90, 20, 880))
    assert not measures.corrected
    assert close(measures, [4.5, 2.167646, 9.34193, 4.888889, 2.219967, 10.766481])


def test_measures_with_zero_cells_add_a_half_to_every_cell():
    # b = 0: cells 3.5, 0.5, 5.5, 92.5 -> PRR = (3.5/4) / (5.5/98) = 15.5909; ROR = 3.5 * 92.5 / (0.5 * 5.5) = 117.727
    measures = disproportionality(TwoByTwo(3, 0, 5, 92))
    assert measures.corrected
    assert close(measures, [15.590909, 6.386914, 38.058513, 117.727273, 5.380856, 2575.744606])
    # a drug and event seen only together: b = c = d = 0 -> 4.5, 0.5, 0.5, 0.5
    measures = disproportionality(TwoByTwo(4, 0, 0, 0))
    assert measures.corrected and close(measures, [1.8, 0.248122, 13.058097, 9.0, 0.06776, 1195.397117])
    assert not is_signal(4, measures)  # the ROR's lower bound 0.068 is under 1
    with pytest.raises(ValueError, match="negative cell"):
        TwoByTwo(1, -1, 0, 0)


def test_table_from_margins_and_the_signal_rule():
    assert TwoByTwo.from_margins(4, drug_total=5, event_total=6, total=18) == TwoByTwo(4, 1, 2, 11)
    measures = disproportionality(TwoByTwo(4, 1, 2, 11))
    assert is_signal(4, measures) and not is_signal(2, measures) and is_signal(2, measures, min_count=2)


# --- counting over annotate outputs ---------------------------------------------------------

def span(drug, pt=None, term=None, code="10000001", label="ADR"):
    record = {"start": 0, "end": 4, "text": "x", "label": label, "score": 0.9,
              "meddra_code": code, "meddra_term": "LLT " + code, "link_method": "metric", "drug": drug}
    if pt is not None:
        record["meddra_pt"], record["meddra_pt_term"] = pt, term
    return record


def write_outputs(folder: Path) -> Path:
    """Cases (x, A) 4, (x, B) 1, (y, A) 2, (y, B) 8, (z, C) 3: 18 in all, over two files,
    with bad lines and spans that are not cases."""
    a, b = ("A", "Event A"), ("B", "Event B")
    lines = []
    for i in range(4):
        spans = [span("x", *a)] + ([span("x", *a), span(None, *b)] if i == 0 else [])  # a pair twice: one case
        lines.append({"id": i, "spans": spans})
    lines.append({"id": 4, "spans": [span("x", *b), span("x", *b, label="DISEASE")]})
    lines += [{"id": 5 + i, "spans": [span("y", *a)]} for i in range(2)]
    # (z, C): only an LLT code, rolled up through the MedDRA map
    lines += [{"id": 7 + i, "spans": [span("z", code=ZCODE)]} for i in range(3)]
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "part1.jsonl").open("w", encoding="utf-8") as file_:
        for record in lines:
            file_.write(json.dumps(record) + "\n")
        file_.write("\n")  # blank: not a record, not a problem
        file_.write("{not json\n")
        file_.write("[1, 2]\n")
        file_.write(json.dumps({"path": "in.jsonl", "line": 3, "record": 3, "id": "t3", "reason": "empty text"}) + "\n")
        file_.write(json.dumps({"id": 99, "spans": ["oops", {"label": "ADR", "meddra_code": "1"}]}) + "\n")
    with gzip.open(folder / "part2.jsonl.gz", "wt", encoding="utf-8") as file_:
        for i in range(8):
            file_.write(json.dumps({"id": 100 + i, "spans": [span("y", *b)]}) + "\n")
    (folder / "part1.errors.jsonl").write_text("{}\n", encoding="utf-8")  # annotate's report: not read
    return folder


def test_counts_and_measures_of_a_small_generated_input(tmp_path):
    folder = write_outputs(tmp_path / "outputs")
    files = input_files([folder])
    assert [f.name for f in files] == ["part1.jsonl", "part2.jsonl.gz"]
    result = count_cases(files, terms=SpanTerms("pt", {ZCODE: ("C", "Event C")}))
    counts = result.counts
    assert counts.pairs == {("x", "A"): 4, ("x", "B"): 1, ("y", "A"): 2, ("y", "B"): 8, ("z", "C"): 3}
    assert counts.drugs == {"x": 5, "y": 10, "z": 3} and counts.events == {"A": 6, "B": 9, "C": 3}
    assert counts.total == 18 and counts.drug_tweets == {"x": 5, "y": 10, "z": 3}
    assert result.read.to_dict() == {"files": 2, "files_failed": 0, "lines": 23, "blank_lines": 1, "records": 19, "skipped": 3}
    spans = result.spans.to_dict()
    assert spans == {"spans": 21, "other_labels": 1, "with_drug": 19, "without_drug": 1, "without_term": 0,
                     "cases": 18, "tweets_with_cases": 18}
    problems = result.problems.to_dict()
    assert problems["counts"] == {"not a JSON line": 1, "not a JSON object": 1,
                                  "no spans: a line of an annotate errors file?": 1,
                                  "span that is not a JSON object": 1, NO_DRUG_FIELD: 1}
    assert any(line.startswith(f"{folder / 'part1.jsonl'}:12: not a JSON line") for line in problems["examples"])

    rows = {(r["drug"], r["event_code"]): r for r in signal_rows(counts, min_count=3)}
    assert set(rows) == {("x", "A"), ("y", "B"), ("z", "C")}
    xa, yb, zc = rows["x", "A"], rows["y", "B"], rows["z", "C"]
    assert (xa["a"], xa["b"], xa["c"], xa["d"], xa["corrected"]) == (4, 1, 2, 11, False)
    # PRR = (4/5) / (2/13) = 5.2; ROR = 4 * 11 / (1 * 2) = 22
    assert close(xa, [5.2, 1.350647, 20.020032, 22.0, 1.539967, 314.292364]) and xa["signal"]
    # PRR = (8/10) / (1/8) = 6.4; ROR = 8 * 7 / (2 * 1) = 28
    assert close(yb, [6.4, 0.996918, 41.086643, 28.0, 2.067254, 379.247145]) and yb["event"] == "Event B"
    # b = c = 0: 3.5, 0.5, 0.5, 15.5 -> PRR = (3.5/4) / (0.5/16) = 28; ROR = 3.5 * 15.5 / 0.25 = 217
    assert zc["corrected"] and close(zc, [28.0, 1.78429, 439.39043, 217.0, 3.639914, 12936.843546])


def test_spans_without_a_pt_are_reported_without_a_meddra_map(tmp_path):
    folder = write_outputs(tmp_path / "outputs")
    result = count_cases(input_files([folder]))
    assert ("z", "C") not in result.counts.pairs and result.spans.without_term == 3
    assert result.problems.counts[NO_PT] == 3
    level_llt = count_cases(input_files([folder]), terms=SpanTerms("llt"))
    assert level_llt.counts.pairs[("z", ZCODE)] == 3 and level_llt.counts.event_names[ZCODE] == "LLT " + ZCODE


def test_damaged_and_missing_inputs_are_reported_not_fatal(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"id": 1, "spans": [span("x", "A", "Event A")]}) + "\n", encoding="utf-8")
    whole = gzip.compress(b"".join(json.dumps({"id": i, "spans": [span("y", "B", "Event B")]}).encode() + b"\n" for i in range(200)))
    (tmp_path / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "fake.jsonl.gz").write_text("not gzip", encoding="utf-8")
    result = count_cases([tmp_path / "cut.jsonl.gz", tmp_path / "fake.jsonl.gz", good])
    assert result.counts.pairs[("x", "A")] == 1 and result.read.files_failed == 2
    assert result.problems.counts["file damaged: read up to here"] == 1
    assert result.problems.counts["file not read"] == 1
    with pytest.raises(InputError, match="no such file"):
        input_files([tmp_path / "missing.jsonl"])


def test_load_pt_map_from_meddra_and_from_a_pipeline_folder(tmp_path):
    pt_map = load_pt_map(FIXTURES / "meddra" / "llt.tsv")
    assert pt_map["10016365"] == ("10025482", "Malaise")
    pipeline = tmp_path / "pipeline"
    (pipeline / "adr_meddra_linker").mkdir(parents=True)
    (pipeline / "config.cfg").write_text("[nlp]\n", encoding="utf-8")
    (pipeline / "adr_meddra_linker" / "kb.tsv").write_text(
        "llt_code\tllt_name\tpt_code\tpt_name\tllt_currency\n10016365\tFeeling sick\t10025482\tMalaise\tY\n", encoding="utf-8")
    assert load_pt_map(pipeline) == {"10016365": ("10025482", "Malaise")}


def test_make_signals_writes_tables_summary_and_page(tmp_path):
    folder = write_outputs(tmp_path / "outputs")
    result = make_signals([folder], tmp_path / "signals", meddra=FIXTURES / "meddra" / "llt.tsv", command="spacy-adr signals test")
    out = tmp_path / "signals"
    with (out / "signals.csv").open(encoding="utf-8") as file_:
        rows = list(csv.DictReader(file_))
    assert [(r["drug"], r["event"], r["a"], r["signal"], r["corrected"]) for r in rows] == [
        ("x", "Event A", "4", "true", "false"), ("y", "Event B", "8", "true", "false"), ("z", "Malaise", "3", "true", "true")]
    with (out / "drugs.csv").open(encoding="utf-8") as file_:
        assert list(csv.reader(file_)) == [["drug", "tweets", "cases", "events", "signals"],
                                           ["y", "10", "10", "2", "1"], ["x", "5", "5", "2", "1"], ["z", "3", "3", "1", "1"]]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["read"]["records"] == 19 and summary["signals"] == 3 and summary["min_count"] == 3
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Drug-event signals" in page and "Event A" in page and "not a JSON line" in page
    assert (out / "plots" / "volcano.png").read_bytes()[:4] == b"\x89PNG"
    assert {p.name for p in (out / "plots").iterdir()} == {"volcano.png", "events_x.png", "events_y.png", "events_z.png"}
    assert result.rows and (out / "index.html") in result.files


def test_cli(tmp_path):
    folder = write_outputs(tmp_path / "outputs")
    runner = CliRunner()
    result = runner.invoke(app, ["signals", str(folder / "part1.jsonl"), str(folder / "part2.jsonl.gz"),
                                 "-o", str(tmp_path / "out"), "--min-count", "2", "--no-html", "-q"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())  # wasabi wraps its messages
    assert "2 files, 23 lines: 19 records read, 3 lines skipped" in output
    assert "part1.jsonl:12: not a JSON line" in output and "without meddra_pt: give --meddra" in output
    assert "3 drug-event pairs with at least 2 cases" in output  # (x,A), (y,A), (y,B); z has no PT
    assert not (tmp_path / "out" / "index.html").exists()
    result = runner.invoke(app, ["signals", str(tmp_path / "nothing.jsonl"), "-o", str(tmp_path / "out2")])
    assert result.exit_code == 1 and "no such file" in " ".join(result.output.split())
    result = runner.invoke(app, ["signals", str(folder), "-o", str(tmp_path / "out3"), "--min-count", "0"])
    assert result.exit_code == 1 and "--min-count must be at least 1" in " ".join(result.output.split())


# --- time windows ---------------------------------------------------------------------------

def test_dates_in_the_forms_of_tweet_dumps():
    from spacy_adr.signals.windows import parse_date, window_of

    for value in ["2020-03-01T12:30:00Z", "2020-03-01 14:30:00+02:00", "Sun Mar 01 12:30:00 +0000 2020",
                  1583065800, "1583065800", 1583065800000, "1583065800000"]:
        assert parse_date(value) == datetime.datetime(2020, 3, 1, 12, 30), value
    for value in ["yesterday", "12", None, True, float("nan"), -5, [2020], "2020-13-01"]:
        assert parse_date(value) is None, value
    date = datetime.datetime(2020, 12, 31)
    assert [window_of(date, w) for w in ("day", "week", "month", "year")] == ["2020-12-31", "2020-W53", "2020-12", "2020"]
    with pytest.raises(ValueError, match="unknown window 'decade'"):
        window_of(date, "decade")


def test_counts_by_window_use_each_windows_own_tables(tmp_path):
    # March: (x, A) 3, (y, B) 1; April: (x, A) 1, (y, B) 3; one undated record, one bad date
    records = [("2020-03-0%d" % (i + 1), "x", "A") for i in range(3)] + [("2020-03-09", "y", "B")]
    records += [("2020-04-01T10:00:00Z", "x", "A")] + [(1586131200 + i, "y", "B") for i in range(3)]  # 2020-04-06
    lines = [{"id": i, "created_at": date, "spans": [span(drug, event, "Event " + event)]}
             for i, (date, drug, event) in enumerate(records)]
    lines += [{"id": 90, "spans": [span("x", "A", "Event A")]}, {"id": 91, "created_at": "soon", "spans": []}]
    path = tmp_path / "dated.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = count_cases([path], date_field="created_at", window="month")
    assert result.counts.total == 9 and sorted(result.windows) == ["2020-03", "2020-04"]
    march = result.windows["2020-03"]
    assert march.pairs == {("x", "A"): 3, ("y", "B"): 1} and march.total == 4 and march.tweets == 4
    assert result.dates.to_dict() == {"field": "created_at", "window": "month", "dated": 8, "undated": 1, "bad": 1}
    assert any(":10: date not understood" in line and "'soon'" in line for line in result.problems.lines())
    # the tables: each window's 2x2 tables from its own margins
    out = make_signals([path], tmp_path / "out", min_count=1, date_field="created_at", window="month").output_dir
    with (out / "signals_by_window.csv").open(encoding="utf-8") as file_:
        rows = [(r["window"], r["drug"], r["event"], r["a"], r["b"], r["c"], r["d"]) for r in csv.DictReader(file_)]
    assert rows == [("2020-03", "x", "Event A", "3", "0", "0", "1"), ("2020-03", "y", "Event B", "1", "0", "0", "3"),
                    ("2020-04", "x", "Event A", "1", "0", "0", "3"), ("2020-04", "y", "Event B", "3", "0", "0", "1")]
    with (out / "windows.csv").open(encoding="utf-8") as file_:
        assert list(csv.reader(file_))[1] == ["2020-03", "4", "4", "2", "2", "2", "0"]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "By month" in page and "8 dated, 1 without it, 1 not a date" in page
    # without a date field: no window files
    out = make_signals([path], tmp_path / "plain", min_count=1, html=False).output_dir
    assert not (out / "windows.csv").exists() and "windows" not in json.loads((out / "summary.json").read_text())


def test_cli_by_week_and_a_missing_date_field(tmp_path):
    folder = write_outputs(tmp_path / "outputs")
    runner = CliRunner()
    result = runner.invoke(app, ["signals", str(folder), "-o", str(tmp_path / "out"), "--no-html", "-q",
                                 "--date-field", "created_at", "--window", "week"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "0 records dated by 'created_at'" in output and "annotate with --keep-field created_at" in output
    assert (tmp_path / "out" / "windows.csv").read_text().splitlines() == [
        "window,tweets,cases,drugs,events,pairs,signals"]
