"""Time `adr_tweet_normalizer` and `adr_gazetteer` on the English SMM4H 2020 Task 2 train tweets.

Reads $SPACY_ADR_DATA (the licensed data folder); writes nothing. Tokenization is timed apart.

    SPACY_ADR_DATA=/path/to/data python scripts/bench_gazetteer.py
"""
import csv
import os
import sys
import time
from pathlib import Path

import spacy

from spacy_adr.pipeline.gazetteer import gazetteer_terms_v1


def main() -> None:
    data = Path(os.environ.get("SPACY_ADR_DATA", ""))
    if not data.is_dir():
        sys.exit("Set SPACY_ADR_DATA to the data folder")
    tweets_path = data / "smm4h2020_task2_classification" / "en" / "train.tsv"
    csv.field_size_limit(sys.maxsize)
    with tweets_path.open(encoding="utf-8", newline="") as file_:
        rows = list(csv.reader(file_, delimiter="\t", quoting=csv.QUOTE_NONE))
    tweets = [row[3] for row in rows[1:] if len(row) > 3]

    t0 = time.perf_counter()
    terms = gazetteer_terms_v1(
        lexicons=[data / "lexicons" / "kfu_chemtextmining_vocabularies" / "adr_lexicon.txt"],
        meddra=data / "meddra" / "llt.tsv",
    )
    nlp = spacy.blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    gazetteer = nlp.add_pipe("adr_gazetteer")
    gazetteer.initialize(terms=terms)
    print(f"terms: {len(terms):,} loaded, {len(gazetteer):,} distinct; load+build {time.perf_counter() - t0:.2f}s")

    t0 = time.perf_counter()
    docs = [nlp.make_doc(tweet) for tweet in tweets]
    n_tokens = sum(len(doc) for doc in docs)
    print(f"tweets: {len(docs):,}, tokens: {n_tokens:,}; tokenization {time.perf_counter() - t0:.2f}s")

    normalizer = nlp.get_pipe("adr_tweet_normalizer")
    t0 = time.perf_counter()
    for doc in docs:
        normalizer(doc)
    print(f"adr_tweet_normalizer: {time.perf_counter() - t0:.2f}s")

    t0 = time.perf_counter()
    for doc in docs:
        gazetteer(doc)
    elapsed = time.perf_counter() - t0
    t0 = time.perf_counter()
    matches = [gazetteer.match(doc) for doc in docs]
    match_only = time.perf_counter() - t0
    n_matches = sum(len(spans) for spans in matches)
    with_gaz = sum(1 for spans in matches if spans)
    print(f"adr_gazetteer: {elapsed:.2f}s (matching alone {match_only:.2f}s); "
          f"{n_matches:,} matches in {with_gaz:,} tweets")

if __name__ == "__main__":
    main()
