"""Inference settings of the encoders: int8 copies, length-sorted groups, where they are stored.

A tiny random BERT (`tiny_transformer`) stands in for MiniLM: int8 must stay close to fp32
on it, groups must change nothing but the time, and the settings must survive saving.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.tokens import DocBin
from spacy.training import Example
from spacy.util import fix_random_seed
from typer.testing import CliRunner

from spacy_adr.cli import app
from spacy_adr_builder.cli import app as builder_app
from spacy_adr.inference_settings import inference_settings, save_inference, set_inference
from spacy_adr.models.inference import check_quantize, predict_in_length_groups, quantized_copy
from spacy_adr.tokenizer import make_blank

from test_models import ner_cfg

TEXTS = [
    "cipro gave me a headache",
    "i love my dog",
    "this seroquel makes me so tired and dizzy all day long and i cannot focus at work at all",
    "ok",
    "no side effects from the new pills so far, feeling great today",
    "headache again",
    "took two advil for the headache and now my stomach hurts and i feel sick",
]
TRAIN = [
    ("cipro gave me a headache", [(16, 24)]),
    ("headache again", [(0, 8)]),
    ("feel sick after the pill", [(0, 9)]),
    ("i love my dog", []),
]
NER_CFG = ner_cfg({
    "@architectures": "spacy-transformers.TransformerListener.v1",
    "grad_factor": 1.0,
    "upstream": "*",
    "pooling": {"@layers": "reduce_mean.v1"},
})


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from tiny_transformer import build_tiny_bert

    return str(build_tiny_bert(tmp_path_factory.mktemp("tiny_bert")))


def transformer_cfg(bert: str, **settings) -> dict:
    return {"model": {
        "@architectures": "spacy-adr.NormTransformerModel.v1",
        "name": bert,
        "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 128, "stride": 96},
        "tokenizer_config": {"use_fast": True},
        **settings,
    }}


def encoder_pipeline(bert: str, **settings):
    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    nlp.add_pipe("transformer", config=transformer_cfg(bert, **settings))
    nlp.initialize()
    return nlp


@pytest.fixture(scope="module")
def ner_pipeline(tiny_bert, tmp_path_factory) -> Path:
    """normaliser -> tiny BERT -> NER, overfit on four tweets, saved fp32."""
    fix_random_seed(0)
    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    nlp.add_pipe("transformer", config=transformer_cfg(tiny_bert))
    nlp.add_pipe("ner", config=NER_CFG)
    examples = []
    for text, spans in TRAIN:
        doc = nlp.make_doc(text)
        examples.append(Example.from_dict(doc, {"entities": [(s, e, "ADR") for s, e in spans]}))
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(60):
        nlp.update(examples, sgd=optimizer, annotates=["adr_tweet_normalizer"])
    path = tmp_path_factory.mktemp("ner") / "pipeline"
    nlp.to_disk(path)
    return path


def hf_weights(nlp):
    return nlp.get_pipe("transformer").model.layers[0].shims[0]._model.state_dict()


def ents(docs):
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs]


def test_length_groups_change_nothing_but_the_order_of_work(tiny_bert):
    whole = list(encoder_pipeline(tiny_bert).pipe(TEXTS, batch_size=7))
    grouped = list(encoder_pipeline(tiny_bert, length_groups=2).pipe(TEXTS, batch_size=7))
    assert [doc.text for doc in grouped] == TEXTS
    for doc_a, doc_b in zip(whole, grouped):
        a, b = doc_a._.trf_data.model_output.last_hidden_state, doc_b._.trf_data.model_output.last_hidden_state
        assert a.shape == b.shape
        # Padded positions differ (no token is aligned to them); the real ones may not.
        real = doc_a._.trf_data.wordpieces.attention_mask.astype(bool)
        numpy.testing.assert_allclose(a[real], b[real], rtol=1e-4, atol=1e-5)


def test_predict_in_length_groups_puts_rows_back_and_pads_with_zeros():
    class Echo(torch.nn.Module):
        """last_hidden_state = the input ids as floats, so rows and columns can be traced."""

        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(1))

        def forward(self, input_ids, attention_mask):
            from transformers.modeling_outputs import BaseModelOutput

            return BaseModelOutput(last_hidden_state=(input_ids * attention_mask).float().unsqueeze(-1) * self.scale)

    ids = numpy.array([[1, 2, 3, 0], [4, 0, 0, 0], [5, 6, 7, 8], [9, 10, 0, 0]])
    mask = (ids > 0).astype("int64")
    output = predict_in_length_groups(Echo(), {"input_ids": ids, "attention_mask": mask}, 2)
    numpy.testing.assert_array_equal(output.last_hidden_state[..., 0].numpy(), ids * mask)


def test_quantized_copy_shares_the_embeddings_and_stays_close(tiny_bert):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(tiny_bert)
    copied = quantized_copy(model)
    assert copied.embeddings.word_embeddings.weight is model.embeddings.word_embeddings.weight
    assert isinstance(model.encoder.layer[0].output.dense, torch.nn.Linear)  # the original is untouched
    assert not isinstance(copied.encoder.layer[0].output.dense, torch.nn.Linear)
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102]])
    with torch.no_grad():
        fp32 = model.eval()(input_ids=ids).last_hidden_state
        int8 = copied(input_ids=ids).last_hidden_state
    assert float((fp32 - int8).abs().max()) < 0.05 * float(fp32.abs().max())


def test_mixed_copy_keeps_down_projections_out_of_int8(tiny_bert):
    from transformers import AutoModel

    from spacy_adr.models.inference import BF16Linear

    model = AutoModel.from_pretrained(tiny_bert)
    copied = quantized_copy(model, "mixed")
    down = copied.encoder.layer[0].output.dense  # 64 -> 32: the feed-forward's second matmul
    expected = BF16Linear if torch.cpu._is_avx512_bf16_supported() else torch.nn.Linear
    assert isinstance(down, expected)
    assert not isinstance(copied.encoder.layer[0].intermediate.dense, (torch.nn.Linear, BF16Linear))
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102]])
    with torch.no_grad():
        fp32 = model.eval()(input_ids=ids).last_hidden_state
        mixed = copied(input_ids=ids).last_hidden_state
    assert mixed.dtype == torch.float32
    assert float((fp32 - mixed).abs().max()) < 0.05 * float(fp32.abs().max())
    bf16 = quantized_copy(model, "bf16")
    assert all(not isinstance(m, torch.nn.Linear) or not torch.cpu._is_avx512_bf16_supported() for m in bf16.modules())
    with torch.no_grad():
        assert float((fp32 - bf16(input_ids=ids).last_hidden_state).abs().max()) < 0.05 * float(fp32.abs().max())


def test_int8_pipeline_keeps_spans_and_survives_saving_in_a_fresh_process(ner_pipeline, tmp_path):
    fp32 = spacy.load(ner_pipeline)
    expected = ents(fp32.pipe(TEXTS))
    assert any(expected), "the overfit NER should find the training spans"
    saved = tmp_path / "int8"
    spacy.load(ner_pipeline).to_disk(saved)
    assert save_inference(saved, quantize="int8", length_groups=3) == ["transformer"]
    int8 = spacy.load(saved)
    assert inference_settings(int8) == {"transformer": {"quantize": "int8", "length_groups": 3}}
    assert ents(int8.pipe(TEXTS)) == expected
    # Saving the int8 pipeline writes the fp32 weights, unchanged.
    int8.to_disk(tmp_path / "again")
    original, again = (hf_weights(spacy.load(path)) for path in (ner_pipeline, tmp_path / "again"))
    assert original.keys() == again.keys()
    assert all(torch.equal(original[key], again[key]) for key in original)
    code = (
        "import json, spacy; from spacy_adr.inference_settings import inference_settings; "
        f"nlp = spacy.load({str(tmp_path / 'again')!r}); "
        f"print(json.dumps([inference_settings(nlp), [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe({TEXTS!r})]]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    settings, fresh = json.loads(result.stdout.strip().splitlines()[-1])
    assert settings == {"transformer": {"quantize": "int8", "length_groups": 3}}
    assert [[tuple(e) for e in doc] for doc in fresh] == expected


@pytest.mark.parametrize("mode,tolerance", [("ort", 1e-4), ("ort-int8", 0.05), ("ort-mixed", 0.05)])
def test_onnx_runtime_encoder_stays_close_to_torch(tiny_bert, mode, tolerance):
    from transformers import AutoModel

    from spacy_adr.models.onnx_encoder import OnnxEncoder

    model = AutoModel.from_pretrained(tiny_bert).eval()
    encoder = quantized_copy(model, mode)
    assert isinstance(encoder, OnnxEncoder) and model.training is False
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 2023, 102, 0, 0, 0]])
    mask = (ids > 0).long()
    with torch.no_grad():
        fp32 = model(input_ids=ids, attention_mask=mask).last_hidden_state
    # Another batch and sequence size than the export's example: the axes are dynamic.
    onnx = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    assert onnx.shape == fp32.shape and onnx.dtype == torch.float32
    real = mask.bool()
    assert float((fp32[real] - onnx[real]).abs().max()) < tolerance * float(fp32.abs().max())
    # One sequence per group: int8 picks its input scale per group, so only close again.
    grouped = predict_in_length_groups(encoder, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}, 1)
    difference = (grouped.last_hidden_state[real] - onnx[real]).abs().max()
    assert float(difference) < tolerance * float(fp32.abs().max())


def test_ort_mixed_keeps_the_down_projections_in_fp32(tiny_bert, tmp_path):
    import onnx
    from transformers import AutoModel

    from spacy_adr.models.onnx_encoder import export, quantize_int8

    model = AutoModel.from_pretrained(tiny_bert)
    source = export(model, tmp_path / "fp32.onnx", ["input_ids", "attention_mask", "token_type_ids"])
    for keep, expected_fp32 in ((False, 0), (True, 1)):  # one layer: one down-projection
        target = quantize_int8(source, tmp_path / f"int8-{keep}.onnx", keep_down_projections=keep)
        graph = onnx.load(str(target)).graph
        ops = [node.op_type for node in graph.node]
        weights_fp32 = {init.name for init in graph.initializer if init.data_type == onnx.TensorProto.FLOAT and len(init.dims) == 2}
        matmuls_on_fp32_weights = [
            node for node in graph.node if node.op_type == "MatMul" and any(name in weights_fp32 for name in node.input)
        ]
        assert len(matmuls_on_fp32_weights) == expected_fp32, ops
        assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops or "MatMulIntegerToFloat" in ops, ops


def test_onnx_runtime_pipeline_keeps_spans(ner_pipeline, tmp_path):
    expected = ents(spacy.load(ner_pipeline).pipe(TEXTS))
    saved = tmp_path / "ort"
    spacy.load(ner_pipeline).to_disk(saved)
    save_inference(saved, quantize="ort", length_groups=3)
    nlp = spacy.load(saved)
    assert inference_settings(nlp) == {"transformer": {"quantize": "ort", "length_groups": 3}}
    assert ents(nlp.pipe(TEXTS)) == expected


def test_the_linker_refuses_onnx_runtime():
    nlp = make_blank("en")
    with pytest.raises(ValueError, match="is for the transformer"):
        nlp.add_pipe("adr_meddra_linker", config={"quantize": "ort-int8"})


def test_one_config_override_gives_fp32_back(ner_pipeline, tmp_path):
    saved = tmp_path / "int8"
    spacy.load(ner_pipeline).to_disk(saved)
    save_inference(saved, quantize="int8")
    nlp = spacy.load(saved, config={"components.transformer.model.quantize": None})
    assert inference_settings(nlp)["transformer"]["quantize"] == "fp32"


def test_training_drops_the_quantized_copy(ner_pipeline):
    nlp = spacy.load(ner_pipeline)
    set_inference(nlp, quantize="int8")
    model = nlp.get_pipe("transformer").model
    nlp("cipro gave me a headache")
    assert model.quantized._copy is not None
    example = Example.from_dict(nlp.make_doc("headache again"), {"entities": [(0, 8, "ADR")]})
    nlp.update([example], sgd=nlp.resume_training(), annotates=["adr_tweet_normalizer"])
    assert model.quantized._copy is None


def test_bad_settings_are_clear_errors(tmp_path, tiny_bert):
    with pytest.raises(ValueError, match="quantize must be null"):
        check_quantize("int4", "here")
    with pytest.raises(ValueError, match="length_groups must be >= 0"):
        encoder_pipeline(tiny_bert, length_groups=-1)
    nlp = make_blank("en")
    nlp.add_pipe("adr_tweet_normalizer")
    nlp.to_disk(tmp_path / "plain")
    with pytest.raises(ValueError, match="no spacy-adr.NormTransformerModel.v1"):
        save_inference(tmp_path / "plain", quantize="int8")
    result = CliRunner().invoke(app, ["set-inference", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "Nothing to set" in result.output
    result = CliRunner().invoke(app, ["set-inference", str(tmp_path / "nothing"), "--quantize", "int8"])
    assert result.exit_code == 1 and "not a saved pipeline" in " ".join(result.output.split())


def test_benchmark_times_and_scores_each_setting(ner_pipeline, tmp_path):
    nlp = spacy.load(ner_pipeline)
    docs = []
    for text, spans in TRAIN:
        doc = nlp.make_doc(text)
        doc.ents = [doc.char_span(s, e, label="ADR") for s, e in spans]
        docs.append(doc)
    DocBin(docs=docs).to_disk(tmp_path / "gold.spacy")
    output = tmp_path / "speed.json"
    # A fresh interpreter: the benchmark forks its measuring processes, which is safe only
    # from a process whose torch has not run yet (this test process trained a model).
    result = subprocess.run([
        sys.executable, "-c", "from spacy_adr_builder.cli import app; app()", "benchmark", str(ner_pipeline), str(tmp_path / "gold.spacy"),
        "--split", "toy", "--limit", "0", "--batch-size", "2", "--compare", "int8/2",
        "--spans", str(tmp_path / "gold.spacy"), "-o", str(output),
    ], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {row["split"]: row for row in json.loads(output.read_text())}
    assert set(rows) == {"toy", "toy:int8/2"}
    assert rows["toy"]["inference"] == "transformer fp32/0"
    assert rows["toy:int8/2"]["inference"] == "transformer int8/2"
    for row in rows.values():
        assert row["tweets_per_s"] > 0 and row["n"] == len(TRAIN)
        assert row["ner_strict_f"] == pytest.approx(1.0)
    result = CliRunner().invoke(builder_app, ["benchmark", str(ner_pipeline), str(tmp_path / "gold.spacy"), "--split", "x", "--compare", "int4"])
    assert result.exit_code == 1 and "QUANTIZE/GROUPS" in " ".join(result.output.split())
