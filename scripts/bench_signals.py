"""Time `spacy-adr signals` on generated annotate outputs and show that its memory stays flat.

    python scripts/bench_signals.py                 # 100,000 and 1,000,000 records
    python scripts/bench_signals.py --sizes 10000   # a quick look
    python scripts/bench_signals.py --window month  # records dated over two years, counted by month too

For each size it writes a JSONL file of that many records shaped like annotate's (most tweets
without spans, a few with one to three linked ADR spans, each with a drug and a PT; 60 drugs,
400 PTs, skewed as real counts are), then runs `make_signals` on it (tables and the HTML page,
as the command does by default) in a fresh process, timing it and reading that process's peak
RSS. Equal peaks for 10x the records are the flat memory. Rows go to metrics/signals_speed.json
(task "speed", split "signals_<n>_records").
"""
import argparse
import datetime
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_DRUGS = 60
N_EVENTS = 400
SPAN_RATE = 0.3  # share of tweets with at least one ADR span
START = datetime.datetime(2018, 1, 1)
TWO_YEARS = 2 * 365 * 24 * 3600


def generate(path: Path, n_records: int, seed: int = 0, dated: bool = False) -> None:
    """Write `n_records` annotate-like records to `path`.

    path (Path): The JSONL file.
    n_records (int): Records written.
    seed (int): Random seed.
    dated (bool): Give each record a `created_at` in Twitter's format, over two years.
    """
    rng = random.Random(seed)
    drugs = [f"drug{i:02d}" for i in range(N_DRUGS)]
    drug_weights = [1 / (i + 1) for i in range(N_DRUGS)]
    events = [(f"100{i:05d}", f"Preferred term {i}") for i in range(N_EVENTS)]
    event_weights = [1 / (i + 1) ** 0.8 for i in range(N_EVENTS)]
    with path.open("w", encoding="utf-8") as file_:
        for i in range(n_records):
            spans = []
            if rng.random() < SPAN_RATE:
                drug = rng.choices(drugs, drug_weights)[0]
                for _ in range(rng.choice((1, 1, 1, 2, 3))):
                    code, term = rng.choices(events, event_weights)[0]
                    spans.append({
                        "start": 10, "end": 18, "text": "headache", "label": "ADR", "score": 0.93,
                        "meddra_code": code, "meddra_term": term, "link_method": "metric",
                        "meddra_pt": code, "meddra_pt_term": term,
                        "drug": drug if rng.random() > 0.1 else None,
                    })
            record = {"id": 10**17 + i, "adr_probability": 0.8 if spans else 0.05,
                      "adr_label": bool(spans), "spans": spans, "gate_open": True if spans else None}
            if dated:
                when = START + datetime.timedelta(seconds=rng.randrange(TWO_YEARS))
                record["created_at"] = when.strftime("%a %b %d %H:%M:%S +0000 %Y")
            file_.write(json.dumps(record) + "\n")


def time_signals(path: Path, output_dir: Path, window: str = "") -> dict:
    """Run make_signals once in this process.

    path (Path): The records.
    output_dir (Path): Where the tables and page go.
    window (str): Count by this window of `created_at` too; "": not by window.
    RETURNS (dict): seconds, peak_rss_mb, cases, rows.
    """
    from spacy_adr.signals import make_signals

    start = time.perf_counter()
    by_window = {"date_field": "created_at", "window": window} if window else {}
    result = make_signals([path], output_dir, html=True, **by_window)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_rss_mb": peak_kb / 1024, "cases": result.summary["spans"]["cases"],
            "rows": result.summary["rows"], "records": result.summary["read"]["records"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--output", type=Path, default=Path("metrics/signals_speed.json"))
    parser.add_argument("--window", default="", help="Date the records and count by this window too (day, week, month, year)")
    parser.add_argument("--time", nargs=2, type=Path, metavar=("RECORDS", "OUTPUT_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time:
        print(json.dumps(time_signals(*args.time, window=args.window)))
        return
    from spacy_adr.metrics import write_rows

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"records_{n}.jsonl"
            generate(path, n, dated=bool(args.window))
            size_mb = path.stat().st_size / 2**20
            # A fresh process each: its peak RSS is this size's alone.
            done = subprocess.run([sys.executable, __file__, "--time", str(path), str(Path(tmp) / f"out_{n}"),
                                   "--window", args.window], capture_output=True, text=True, check=True)
            timing = json.loads(done.stdout.strip().splitlines()[-1])
            variant = "spacy-adr signals (tables and page)" + (f", by {args.window} too" if args.window else "")
            row = {"task": "speed", "variant": variant, "split": f"signals_{n}_records",
                   "records": timing["records"], "file_mb": round(size_mb, 1), "seconds": round(timing["seconds"], 1),
                   "records_per_s": round(timing["records"] / timing["seconds"]), "peak_rss_mb": round(timing["peak_rss_mb"], 1),
                   "cases": timing["cases"], "pairs_in_table": timing["rows"]}
            print(json.dumps(row))
            rows.append(row)
            path.unlink()
    write_rows(args.output, rows, command=" ".join(["python scripts/bench_signals.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
