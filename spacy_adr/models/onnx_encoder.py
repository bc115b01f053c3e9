"""An HF encoder run by ONNX Runtime on the CPU, fp32 or int8 (no spaCy imports).

`quantize = "ort"`, `"ort-int8"` or `"ort-mixed"` (`spacy_adr.models.inference`) runs the
encoder through this: the torch model is exported to ONNX when the pipeline first predicts (a
few seconds for MiniLM), int8 weights come from ONNX Runtime's dynamic quantisation (one scale
per output channel; "ort-mixed" leaves the down-projections fp32), and the session runs in as
many threads as torch does. The torch model stays in place, so training and `to_disk` are
unchanged and a reloaded pipeline exports again.

Why ONNX Runtime beside torch's own copies: on this 2-core CPU its int8 ran MiniLM 1.4x as
fast as torch's int8 and 1.5x as fast as bf16 (600 en dev tweets, groups of 16), and stayed
closer to fp32 (token vectors' cosine to fp32 at least 0.93 against 0.77 for torch's int8);
in fp32 the two run alike (README, "Speed and what it costs").
"""
import tempfile
import warnings
from pathlib import Path
from typing import Dict, List

import numpy
import torch
from transformers.modeling_outputs import BaseModelOutput

ORT_MODES = ("ort", "ort-int8", "ort-mixed")
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def _require_onnxruntime():
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            "quantize 'ort', 'ort-int8' and 'ort-mixed' need ONNX Runtime, an option of spacy_adr: "
            "pip install 'spacy_adr[onnx]', or set quantize to 'bf16', 'int8' or null"
        ) from error
    return onnxruntime


class OnnxEncoder:
    """A torch HF encoder exported to ONNX and run by ONNX Runtime (inference only).

    Called like the HF model with numpy-compatible tensors (`input_ids`, `attention_mask`,
    optionally `token_type_ids`); returns a `BaseModelOutput` with `last_hidden_state`.
    """

    def __init__(self, module: torch.nn.Module, mode: str = "ort-int8") -> None:
        """Export module and open a session on it.

        module (torch.nn.Module): An fp32 HF encoder on the CPU (left unchanged).
        mode (str): "ort" (fp32), "ort-int8", or "ort-mixed" (int8 except the layers that
            project down, as torch's "mixed", which stay fp32 here).
        """
        if mode not in ORT_MODES:
            raise ValueError(f"OnnxEncoder: mode must be one of {list(ORT_MODES)}, got {mode!r}")
        ort = _require_onnxruntime()
        input_names = self._input_names(module)
        with tempfile.TemporaryDirectory(prefix="spacy-adr-onnx-") as folder:
            path = Path(folder) / "encoder.onnx"
            export(module, path, input_names)
            if mode != "ort":
                path = quantize_int8(path, Path(folder) / "encoder-int8.onnx", keep_down_projections=mode == "ort-mixed")
            options = ort.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # The session reads the file now: the folder may go afterwards.
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    @staticmethod
    def _input_names(module: torch.nn.Module) -> List[str]:
        # MPNet has no token types; BERT does.
        uses_types = getattr(module.config, "type_vocab_size", 0) > 0 and module.config.model_type != "mpnet"
        return [n for n in INPUT_NAMES if n != "token_type_ids" or uses_types]

    def __call__(self, **inputs: torch.Tensor) -> BaseModelOutput:
        """The encoder's output.

        inputs (torch.Tensor): input_ids, attention_mask, optionally token_type_ids (n, width).
        RETURNS (BaseModelOutput): last_hidden_state (n, width, hidden), fp32 torch tensor.
        """
        ids = numpy.asarray(inputs["input_ids"], dtype=numpy.int64)
        feed: Dict[str, numpy.ndarray] = {}
        for name in self.input_names:
            value = inputs.get(name)
            feed[name] = numpy.zeros_like(ids) if value is None else numpy.asarray(value, dtype=numpy.int64)
        (hidden, *_rest) = self.session.run(None, feed)
        return BaseModelOutput(last_hidden_state=torch.from_numpy(hidden))


def export(module: torch.nn.Module, path: Path, input_names: List[str]) -> Path:
    """Write the encoder as ONNX with dynamic batch and sequence axes.

    module (torch.nn.Module): An HF encoder.
    path (Path): The .onnx file to write.
    input_names (List[str]): The inputs its forward takes, in order.
    RETURNS (Path): path.
    """
    example = torch.ones((2, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "sequence"} for name in [*input_names, "last_hidden_state"]}
    was_training = module.training
    module.eval()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # The TorchScript exporter: no onnxscript needed, and it handles HF encoders.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _LastHiddenState(module, input_names), tuple(example for _ in input_names), str(path),
                input_names=list(input_names), output_names=["last_hidden_state"],
                dynamic_axes=axes, opset_version=17, dynamo=False,
            )
    finally:
        module.train(was_training)
    return path


def quantize_int8(source: Path, target: Path, *, keep_down_projections: bool = False) -> Path:
    """ONNX Runtime's dynamic int8 quantisation of the MatMul weights, per output channel.

    source (Path): The fp32 .onnx file.
    target (Path): The .onnx file to write.
    keep_down_projections (bool): Leave in fp32 the MatMuls with more inputs than outputs
        (the feed-forward block's second matmul, whose GELU inputs one int8 scale handles worst).
    RETURNS (Path): target.
    """
    _require_onnxruntime()
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    excluded = []
    if keep_down_projections:
        graph = onnx.load(str(source)).graph
        shapes = {init.name: tuple(init.dims) for init in graph.initializer}
        for node in graph.node:
            weights = [shapes[name] for name in node.input if len(shapes.get(name, ())) == 2]
            if node.op_type == "MatMul" and weights and weights[0][0] > weights[0][1]:
                excluded.append(node.name)

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # it logs a "consider pre-processing" hint every time
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=excluded)
    finally:
        root.setLevel(level)
    return target


class _LastHiddenState(torch.nn.Module):
    """The HF model with positional inputs and one output, for the exporter."""

    def __init__(self, model: torch.nn.Module, input_names: List[str]) -> None:
        super().__init__()
        self.model = model
        self.names = list(input_names)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, inputs))).last_hidden_state
