"""`spacy-adr-builder store-weights`: a bf16 transformer stored in bf16 is smaller on disk,
loads with `spacy.load` and predicts as before; other settings keep their fp32 weights."""
import shutil

import pytest

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
    # The values are the bf16 ones (kept in bf16 where the CPU computes in bf16, else cast
    # into the fp32 model: test_bf16_stored_weights_load_as_bf16_and_predict_the_same)
    dense = [key for key in weights if key.endswith("dense.weight")]
    assert dense and all(torch.equal(weights[key].float(), weights[key].to(torch.bfloat16).float()) for key in dense)
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
    assert "no transformer runs in bf16" in " ".join(result.output.split())
    assert (saved / "transformer" / "model").read_bytes() == model_file


def test_a_folder_that_is_not_a_pipeline_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(builder_app, ["store-weights", str(tmp_path)])
    assert result.exit_code == 1 and "is not a saved pipeline" in " ".join(result.output.split())


def hf_config(saved):
    """The transformer's HF config as the saved pipeline stores it."""
    import srsly

    msg = srsly.msgpack_loads((saved / "transformer" / "model").read_bytes())
    shim = srsly.msgpack_loads(next(shims[0] for shims in msg["shims"] if shims))
    # Less the temporary folder spacy-transformers loaded it from
    return {key: value for key, value in shim["config"].items() if key != "_name_or_path"}


def linear_and_other_dtypes(nlp):
    model = nlp.get_pipe("transformer").model.layers[0].shims[0]._model
    linear = {id(p) for m in model.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters()}
    dtypes = {"linear": set(), "other": set()}
    for tensor in list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]:
        dtypes["linear" if id(tensor) in linear else "other"].add(tensor.dtype)
    return dtypes


@pytest.mark.skipif(not torch.cpu._is_avx512_bf16_supported(), reason="bf16 weights load as bf16 only where the CPU computes in bf16")
def test_bf16_stored_weights_load_as_bf16_and_predict_the_same(ner_pipeline, tmp_path):
    saved = tmp_path / "bf16"
    shutil.copytree(ner_pipeline, saved)
    save_inference(saved, quantize="bf16")
    # Before store-weights: fp32 weights, which the bf16 copy casts when it predicts
    fp32_stored = spacy.load(saved)
    assert linear_and_other_dtypes(fp32_stored) == {"linear": {torch.float32}, "other": {torch.float32}}
    expected = [doc._.trf_data.tensors[0] for doc in fp32_stored.pipe(TEXTS)]
    expected_ents = ents(fp32_stored.pipe(TEXTS))
    assert CliRunner().invoke(builder_app, ["store-weights", str(saved)]).exit_code == 0

    nlp = spacy.load(saved)
    # No fp32 copy of the Linear weights is kept; embeddings and layer norms stay fp32
    assert linear_and_other_dtypes(nlp) == {"linear": {torch.bfloat16}, "other": {torch.float32}}
    assert ents(nlp.pipe(TEXTS)) == expected_ents
    assert all(torch.equal(torch.as_tensor(a), torch.as_tensor(b)) for a, b in zip(expected, (doc._.trf_data.tensors[0] for doc in nlp.pipe(TEXTS))))
    # The inference copy shares the stored tensors instead of casting its own
    shim_model = nlp.get_pipe("transformer").model.layers[0].shims[0]._model
    copy = nlp.get_pipe("transformer").model.quantized.get(shim_model, "bf16")
    stored = {p.data_ptr() for p in shim_model.parameters()}
    assert {b.data_ptr() for name, b in copy.named_buffers() if name.endswith("weight")} <= stored
    # Saved again, the same weights in the same dtypes, and the same HF config
    nlp.to_disk(tmp_path / "again")
    again = spacy.load(tmp_path / "again")
    assert linear_and_other_dtypes(again) == linear_and_other_dtypes(nlp)
    weights, weights_again = hf_weights(nlp), hf_weights(again)
    assert all(torch.equal(weights[key], weights_again[key]) for key in weights)
    assert hf_config(tmp_path / "again") == hf_config(saved)


def test_fp32_setting_gives_fp32_weights_back(ner_pipeline, tmp_path):
    saved = tmp_path / "bf16"
    shutil.copytree(ner_pipeline, saved)
    save_inference(saved, quantize="bf16")
    assert CliRunner().invoke(builder_app, ["store-weights", str(saved)]).exit_code == 0
    nlp = spacy.load(saved, config={"components.transformer.model.quantize": None})
    assert linear_and_other_dtypes(nlp) == {"linear": {torch.float32}, "other": {torch.float32}}
    assert ents(nlp.pipe(TEXTS))  # runs the fp32 module itself


def test_a_state_missing_a_weight_loads_the_usual_way(ner_pipeline, tmp_path):
    """HFShim falls back to strict=False when the stored state lacks weights (another
    transformers version); the missing weights are then initialised, never left unloaded."""
    import io

    import srsly

    saved = tmp_path / "bf16"
    shutil.copytree(ner_pipeline, saved)
    save_inference(saved, quantize="bf16")
    assert CliRunner().invoke(builder_app, ["store-weights", str(saved)]).exit_code == 0
    model_file = saved / "transformer" / "model"
    msg = srsly.msgpack_loads(model_file.read_bytes())
    node = next(i for i, shims in enumerate(msg["shims"]) if shims)
    shim = srsly.msgpack_loads(msg["shims"][node][0])
    state = torch.load(io.BytesIO(shim["state"]))
    del state["pooler.dense.weight"]
    buffer = io.BytesIO()
    torch.save(state, buffer)
    shim["state"] = buffer.getvalue()
    msg["shims"][node][0] = srsly.msgpack_dumps(shim)
    model_file.write_bytes(srsly.msgpack_dumps(msg))

    with pytest.warns(UserWarning, match="strict=False"):
        nlp = spacy.load(saved)
    model = nlp.get_pipe("transformer").model.layers[0].shims[0]._model
    assert not any(p.is_meta for p in model.parameters())
    assert ents(nlp.pipe(TEXTS)) is not None
