"""`spacy-adr-builder benchmark`: the pipeline and the plain HF baseline timed on the same tweets."""
import json

import pytest
from typer.testing import CliRunner

from spacy_adr_builder.cli import app
from spacy_adr.tokenizer import make_blank
from test_textcat import write_corpus

TEXTS = [(f"tweet number {i} about cipro and a headache", float(i % 2)) for i in range(12)]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from tiny_transformer import build_tiny_bert

    return str(build_tiny_bert(tmp_path_factory.mktemp("tiny_bert")))


def test_benchmark_cli_writes_a_speed_row(tmp_path, tiny_bert):
    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    nlp.to_disk(tmp_path / "pipeline")
    corpus = write_corpus(tmp_path / "tweets.spacy", TEXTS)
    output = tmp_path / "speed.json"
    result = CliRunner().invoke(app, [
        "benchmark", str(tmp_path / "pipeline"), str(corpus), "--split", "toy",
        "--baseline-encoder", tiny_bert, "--limit", "10", "--batch-size", "4", "-o", str(output),
    ])
    assert result.exit_code == 0, result.output
    [row] = json.loads(output.read_text())
    assert (row["task"], row["split"], row["n"], row["batch_size"]) == ("speed", "toy", 10, 4)
    assert row["tweets_per_s"] > 0 and row["baseline_tweets_per_s"] > 0 and row["load_s"] > 0
    assert row["ratio"] == pytest.approx(row["tweets_per_s"] / row["baseline_tweets_per_s"])
    assert row["seconds_adr_tweet_normalizer"] >= 0 and row["peak_rss_mb"] > 0


def test_benchmark_cli_names_a_missing_corpus(tmp_path):
    result = CliRunner().invoke(app, ["benchmark", "en_core_web_sm", str(tmp_path / "none.spacy"), "--split", "x"])
    assert result.exit_code == 1
    assert "none.spacy: no such corpus" in " ".join(result.output.split())


def test_compare_settings_name_the_transformer_and_optionally_the_linker():
    from spacy_adr_builder.evaluation.benchmark import parse_inference

    assert parse_inference("fp32/0") == {"quantize": "fp32", "length_groups": 0}
    assert parse_inference("int8/16/bf16") == {"quantize": "int8", "length_groups": 16, "linker_quantize": "bf16"}
    for text in ["int8", "int8/x", "int4/16", "int8/16/int4", "int8/16/int8/int8"]:
        with pytest.raises(ValueError, match="QUANTIZE/GROUPS"):
            parse_inference(text)
