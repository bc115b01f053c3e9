"""Memory of `spacy-adr annotate` on a long dump: RSS after the first 10,000 tweets and peak RSS.

Writes N generated tweets to a gzipped JSONL (deterministic; every tweet has a new user name,
hashtag, URL and number, as a real stream has, so spaCy's string store would grow with the
dump; `--adr-share` of them are made of ADR-laden words, the rest of everyday words), builds a light pipeline (tweet tokenizer, `adr_tweet_normalizer`, `adr_gazetteer` and
an entity ruler with a few ADR terms; or takes --model), annotates the dump in this process
in chunks of 10,000 and adds a row to metrics/annotate_memory.json: RSS when the first chunk
is committed, peak RSS of the process, their ratio (1.0: flat), the size of the string store
at both points, the cells of spaCy's string and lexeme hash tables at the end, and RSS every
100,000 tweets. Each committed chunk is also printed (RSS, strings, table cells), so a long
run can be followed in its log.

    python scripts/annotate_memory.py --n-tweets 1000000

The real pipeline (an installed package or a pipeline folder; the fast package with `--adr-share
0.1` took 31 minutes on an idle 2-core machine; give it the machine, as other jobs slow it many
times over):

    python scripts/annotate_memory.py --model en_adr_smm4h --n-tweets 1000000 --batch-size 128

With every tweet ADR-laden (the default) the linker runs on nearly every tweet; `--adr-share
0.1` is closer to a real dump (a few percent of tweets report an ADR) and several times faster.
"""
import argparse
import json
import random
import resource
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, Union

ADR_TERMS = ["headache", "weight gain", "dry mouth", "insomnia", "nausea", "dizzy", "brain fog"]
WORDS = (
    "this drug gives me a headache and i cant sleep at all today the new pills make "
    "me feel dizzy so tired weight gain again dry mouth all night nausea after my dose"
).split()
EVERYDAY_WORDS = (
    "just got home from work and the weather is great going to watch the game tonight with "
    "friends my phone died again coffee first then the gym what a day lol love this song"
).split()
FIRST_CHUNK = 10_000


def generated_tweets(n: int, seed: int = 0, adr_share: float = 1.0) -> Iterator[Dict]:
    """`n` tweet records, each with a few strings no earlier tweet had; `adr_share` of them
    drawn from ADR-laden words, the others from everyday words."""
    rng = random.Random(seed)
    for i in range(n):
        vocabulary = WORDS if rng.random() < adr_share else EVERYDAY_WORDS
        words = rng.choices(vocabulary, k=rng.randint(6, 18))
        extra = [f"@user{rng.randrange(10**9)}", f"#tag{i}", f"https://t.co/{rng.randrange(36**8):x}", str(i)]
        words[rng.randrange(len(words)):0] = rng.sample(extra, rng.randint(1, 4))
        yield {"id": 10**17 + i, "text": " ".join(words)}


def write_dump(path: Path, n: int, adr_share: float = 1.0) -> Path:
    import gzip

    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as file:
        for record in generated_tweets(n, adr_share=adr_share):
            file.write(json.dumps(record) + "\n")
    return path


def build_light_pipeline(path: Path) -> Path:
    from spacy_adr.tokenizer import make_blank

    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    nlp.add_pipe("adr_gazetteer").set_terms(ADR_TERMS)
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns([{"label": "ADR", "pattern": term} for term in ADR_TERMS])
    nlp.to_disk(path)
    return path


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def index_cells(nlp) -> Dict[str, int]:
    """Cells of the hash tables of spaCy's string store and of its lexemes (16 bytes each)."""
    from spacy_adr.annotate.memory import lexeme_index

    lexemes = lexeme_index(nlp.vocab)
    return {
        "string_index_cells": nlp.vocab.strings._map.capacity,
        "lexeme_index_cells": lexemes.capacity if lexemes is not None else None,
    }


def measure(model: Union[str, Path], dump: Path, output: Path, *, n_tweets: int, batch_size: int) -> Dict:
    """Annotate `dump` in this process; RETURNS the memory figures."""
    import spacy

    from spacy_adr.annotate import annotate

    nlp = spacy.load(model)
    first: Dict = {}
    series: Dict[str, float] = {}

    def on_commit(counts) -> None:
        if not first and counts.records >= FIRST_CHUNK:
            first.update(rss=rss_mb(), strings=len(nlp.vocab.strings), records=counts.records)
        if counts.records % 100_000 == 0:
            series[f"{counts.records // 1000}k"] = round(rss_mb(), 1)
        state = {"records": counts.records, "rss_mb": round(rss_mb(), 1), "peak_rss_mb": round(peak_rss_mb(), 1),
                 "strings": len(nlp.vocab.strings), **index_cells(nlp)}
        print(json.dumps(state), file=sys.stderr, flush=True)

    start = time.perf_counter()
    summary = annotate(
        nlp, dump, output, chunk_size=FIRST_CHUNK, batch_size=batch_size, quiet=True, total=n_tweets,
        on_commit=on_commit, restart=True,
    )
    seconds = time.perf_counter() - start
    assert summary.records == n_tweets, summary.summary()
    peak = peak_rss_mb()
    return {
        "n_tweets": n_tweets,
        "rss_after_10k_mb": round(first["rss"], 1),
        "peak_rss_mb": round(peak, 1),
        "ratio": round(peak / first["rss"], 3),
        "rss_end_mb": round(rss_mb(), 1),
        "strings_after_10k": first["strings"],
        "strings_end": len(nlp.vocab.strings),
        **{f"{name}_end": cells for name, cells in index_cells(nlp).items()},
        "rss_every_100k_mb": series,
        "seconds": round(seconds, 1),
        "tweets_per_s": round(n_tweets / seconds, 1),
        "batch_size": batch_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-tweets", type=int, default=1_000_000)
    parser.add_argument("--model", default=None, help="An installed package or pipeline folder (default: the light pipeline)")
    parser.add_argument("--split", default="generated", help="The row's split name")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--adr-share", type=float, default=1.0, help="Share of tweets made of ADR-laden words")
    parser.add_argument("-o", "--output", type=Path, default=Path("metrics/annotate_memory.json"))
    args = parser.parse_args()
    if args.n_tweets < FIRST_CHUNK:
        sys.exit(f"--n-tweets must be at least {FIRST_CHUNK:,}")
    from spacy_adr.metrics import write_rows

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        model = args.model or build_light_pipeline(folder / "light")
        dump = write_dump(folder / "tweets.jsonl.gz", args.n_tweets, adr_share=args.adr_share)
        row = measure(model, dump, folder / "out.jsonl", n_tweets=args.n_tweets, batch_size=args.batch_size)
        row["adr_share"] = args.adr_share
    variant = "light (tokenizer, normalizer, gazetteer, entity ruler)" if args.model is None else str(args.model)
    row = {"task": "memory", "variant": variant, "split": args.split, **row}
    write_rows(args.output, [row], command=shlex.join(["python", *sys.argv]))
    print(row)


if __name__ == "__main__":
    main()
