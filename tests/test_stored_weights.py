"""`spacy-adr-builder store-weights`: a bf16 transformer stored in bf16 is smaller on disk,
loads with `spacy.load` and predicts as before; other settings keep their fp32 weights."""
import shutil

import spacy
import torch
from typer.testing import CliRunner

from spacy_adr.inference_settings import save_inference
from spacy_adr_builder.cli import app as builder_app

from test_inference import TEXTS, ents, hf_weights, ner_pipeline, tiny_bert  # noqa: F401  (fixtures)


def test_bf16_weights_halve_the_linear_layers_and_keep_the_predictions(ner_pipeline, tmp_path):
    saved = tmp_path / "bf16"
    shutil.copytree(ner_pipeline, saved)
    save_inference(saved, quantize="bf16")
    before = spacy.load(saved)
    expected_ents = ents(before.pipe(TEXTS))
    expected_vectors = [doc._.trf_data.tensors[0] for doc in before.pipe(TEXTS)]
    size_before = (saved / "transformer" / "model").stat().st_size

    result = CliRunner().invoke(builder_app, ["store-weights", str(saved)])
    assert result.exit_code == 0, result.output
    assert "bf16 weights stored for transformer" in result.output
    assert sorted(path.name for path in (saved / "transformer").iterdir()) == ["cfg", "model"]

    after = spacy.load(saved)
    weights = hf_weights(after)
    linear = sum(tensor.numel() for key, tensor in weights.items() if "dense" in key or key.split(".")[-2] in ("query", "key", "value"))
    # Two bytes fewer per Linear value (the tiny BERT is mostly its embedding table, kept fp32)
    assert (saved / "transformer" / "model").stat().st_size <= size_before - 1.9 * linear
    # The loader casts into the fp32 model; the values are the bf16 ones
    assert all(tensor.dtype == torch.float32 for tensor in weights.values())
    dense = [key for key in weights if key.endswith("dense.weight")]
    assert dense and all(torch.equal(weights[key], weights[key].to(torch.bfloat16).float()) for key in dense)
    assert ents(after.pipe(TEXTS)) == expected_ents
    vectors = [doc._.trf_data.tensors[0] for doc in after.pipe(TEXTS)]
    # Equal where the CPU computes in bf16 (the Linear layers then read the same bf16 values);
    # close where bf16 layers fall back to fp32 on the rounded weights.
    tolerance = 0.0 if torch.cpu._is_avx512_bf16_supported() else 0.05
    assert all(abs(a - b).max() <= tolerance for a, b in zip(expected_vectors, vectors))


def test_other_settings_keep_their_fp32_weights(ner_pipeline, tmp_path):
    saved = tmp_path / "int8"
    shutil.copytree(ner_pipeline, saved)
    save_inference(saved, quantize="int8")
    model_file = (saved / "transformer" / "model").read_bytes()
    result = CliRunner().invoke(builder_app, ["store-weights", str(saved)])
    assert result.exit_code == 0, result.output
    assert "no transformer runs in bf16" in result.output
    assert (saved / "transformer" / "model").read_bytes() == model_file


def test_a_folder_that_is_not_a_pipeline_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(builder_app, ["store-weights", str(tmp_path)])
    assert result.exit_code == 1 and "is not a saved pipeline" in " ".join(result.output.split())
