"""Annotating a partitioned tweet dump on a Dask cluster.

Each input file (partition) is one Dask task that runs `spacy_adr.annotate.annotate` on it and
writes one output file per partition into the output folder. Each worker loads the pipeline
once, when the `PipelineLoader` worker plugin is registered, and its tasks reuse it. Without a
scheduler address a `LocalCluster` is started; with one (`tcp://host:8786`) the work goes to
that cluster, whose workers must be able to read the inputs, the model and the output folder
(a shared file system) and have spacy_adr installed.

Resuming works at two levels: a partition whose output and `<stem>.summary.json` exist with
the same settings (input fingerprint and model hash included) is skipped, and a partition that
was interrupted resumes after its last committed chunk. A partition that cannot be read to its
end fails alone, with the file, line and byte, and keeps its committed chunks.

Needs `pip install "spacy_adr[distributed]"` (dask and distributed).
"""
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from .annotate.chunks import OutputPathError, OutputWriteError, ResumeError, errors_path_for
from .annotate.fingerprints import input_fingerprint, model_spec_hash
from .annotate.inputs import DEFAULT_MAX_CHARS, list_inputs
from .annotate.run import DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SIZE
from .annotate.sources import InputFailure
from .annotate.summary import AnnotateStopped, AnnotateSummary, OutputStopped
from .errors import InputError

try:
    from distributed import WorkerPlugin
except ImportError:  # pragma: no cover - `annotate_partitions` says what to install
    WorkerPlugin = object  # type: ignore[misc,assignment]

PLUGIN_NAME = "spacy-adr-pipeline"
_OUTPUT_SUFFIXES = {"jsonl": ".jsonl", "smm4h-tsv": ".tsv"}


def _require_distributed() -> Any:
    try:
        import distributed
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError(
            'Distributed annotation needs dask: pip install "spacy_adr[distributed]"'
        ) from err
    return distributed


class PartitionFailed(Exception):
    """A partition that could not be annotated; the message says where and why.

    (`InputError` cannot travel back from a worker: it does not unpickle.)
    """


class PipelineLoader(WorkerPlugin):
    """A Dask worker plugin that loads the pipeline once per worker, at registration.

    model (str): Package name or path of the pipeline, as the workers see it.
    code (Optional[str]): A Python file the workers import first (registered components).
    """

    name = PLUGIN_NAME

    def __init__(self, model: str, code: Optional[str] = None) -> None:
        self.model = model
        self.code = code
        self.nlp = None

    def setup(self, worker: Any) -> None:
        from .annotate.loading import load_pipeline

        self.nlp = load_pipeline(self.model, code=self.code)

    def teardown(self, worker: Any) -> None:
        self.nlp = None


@dataclass
class DistributedSummary(AnnotateSummary):
    """Totals over all partitions, plus one summary per partition and the failed partitions.

    partitions (List[Dict[str, Any]]): `AnnotateSummary.to_dict()` of each partition, with its
        `input`.
    failed (List[Dict[str, str]]): {input, error} for each partition that raised.
    skipped (int): Partitions already complete from an earlier run.
    """

    partitions: List[Dict[str, Any]] = field(default_factory=list)
    failed: List[Dict[str, str]] = field(default_factory=list)
    skipped: int = 0

    def summary(self) -> str:
        text = f"{len(self.partitions)} partitions, " + super().summary()
        return text + (f", {len(self.failed)} partitions failed" if self.failed else "")


def partition_output(input_path: Path, output_dir: Path, *, output_format: str) -> Path:
    """The output file of one partition: `dump/part-3.jsonl.gz` -> `OUT/part-3.jsonl`."""
    name = input_path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem = Path(name).stem
    return output_dir / f"{stem}{_OUTPUT_SUFFIXES[output_format]}"


def _summary_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.summary.json")


def annotate_partitions(
    model: Union[str, Path],
    inputs: Union[str, Path, Sequence[Union[str, Path]]],
    output_dir: Union[str, Path],
    *,
    scheduler: Optional[Any] = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    processes: bool = True,
    code: Union[str, Path, None] = None,
    fmt: Optional[str] = None,
    output_format: str = "jsonl",
    text_field: str = "text",
    id_field: str = "id",
    keep_fields: Sequence[str] = (),
    include_text: bool = False,
    candidates: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threshold: Optional[float] = None,
    restart: bool = False,
    quiet: bool = False,
) -> DistributedSummary:
    """Annotate every partition of a tweet dump with Dask, one output file per partition.

    model (Union[str, Path]): Package name or path of the pipeline, as the workers see it.
    inputs (Union[str, Path, Sequence]): Files, folders or glob patterns ("dump/*.jsonl.gz").
    output_dir (Union[str, Path]): Folder for `<partition>.jsonl` (or `.tsv`), its
        `.errors.jsonl`, `.summary.json`, and the overall `summary.json`.
    scheduler (Optional[Any]): A scheduler address ("tcp://host:8786") or a
        `distributed.Client`; None starts a `LocalCluster`.
    n_workers (int): Workers of the LocalCluster.
    threads_per_worker (int): Threads per LocalCluster worker; each thread runs one partition
        at a time with the worker's one pipeline, so keep 1 unless the pipeline is thread-safe.
    processes (bool): LocalCluster workers as processes (True) or threads of this process.
    code (Union[str, Path, None]): Python file the workers import before loading the model.
    fmt, output_format, text_field, id_field, keep_fields, include_text, candidates, max_chars,
        batch_size, chunk_size, threshold, restart: As for `spacy_adr.annotate.annotate`.
    quiet (bool): No progress bar over partitions.
    RETURNS (DistributedSummary): Totals and per-partition counts.
    """
    distributed = _require_distributed()
    start_time = time.perf_counter()
    paths = list_inputs(inputs if isinstance(inputs, (list, tuple)) else [inputs])
    if not paths:
        raise FileNotFoundError(f"no input files in {inputs}")
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"{output_dir}: the output folder is a file; name a folder")
    output_dir.mkdir(parents=True, exist_ok=True)
    outputs = [partition_output(p, output_dir, output_format=output_format) for p in paths]
    seen: Dict[Path, Path] = {}
    for path, output in zip(paths, outputs):
        if output in seen:
            raise ValueError(f"{seen[output]} and {path} would both write {output}: rename one")
        seen[output] = path
    code = str(Path(code).resolve()) if code is not None else None
    model = str(Path(model).resolve()) if Path(model).exists() else str(model)
    options = {
        "fmt": fmt,
        "output_format": output_format,
        "text_field": text_field,
        "id_field": id_field,
        # only when given, so that partitions done before the option existed stay done
        **({"keep_fields": list(keep_fields)} if keep_fields else {}),
        "include_text": include_text,
        "candidates": candidates,
        "max_chars": max_chars,
        "batch_size": batch_size,
        "chunk_size": chunk_size,
        "threshold": threshold,
        "restart": restart,
    }
    result = DistributedSummary(output=str(output_dir), errors_output=str(output_dir))
    todo = []
    for path, output in zip(paths, outputs):
        done = None if restart else _completed(path, output, model=model, options=options)
        if done is not None:
            result.skipped += 1
            # Done by an earlier run: counted, but not as this run's throughput.
            _add(result, {**done, "processed": 0, "seconds": 0.0, "tweets_per_s": 0.0})
        else:
            todo.append((path, output))
    if todo:
        client, cluster = _connect(
            distributed, scheduler, n_workers=n_workers, threads_per_worker=threads_per_worker,
            processes=processes,
        )
        try:
            _register(client, PipelineLoader(model, code))
            futures = {
                client.submit(
                    _annotate_partition, str(path), str(output), model, options,
                    key=f"spacy-adr-annotate-{index}-{path.name}", pure=False,
                ): path
                for index, (path, output) in enumerate(todo)
            }
            _collect(distributed, futures, result, quiet=quiet)
        finally:
            if cluster is not None:
                client.close()
                cluster.close()
    result.partitions.sort(key=lambda row: row["input"])
    result.seconds = time.perf_counter() - start_time
    (output_dir / "summary.json").write_text(
        json.dumps({**result.to_dict(), "summary": result.summary()}, indent=2) + "\n", encoding="utf-8"
    )
    return result


def _connect(distributed: Any, scheduler: Any, **cluster_options: Any) -> Any:
    if isinstance(scheduler, distributed.Client):
        return scheduler, None
    if scheduler:
        return distributed.Client(scheduler), None
    # Workers run one pipeline each; torch threads inside a worker would only compete with
    # the other workers for the same cores.
    if cluster_options["processes"]:
        cluster_options["env"] = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cluster = distributed.LocalCluster(dashboard_address=None, **cluster_options)
    return distributed.Client(cluster), cluster


def _register(client: Any, plugin: PipelineLoader) -> None:
    # `register_plugin` since distributed 2023.9; the older name before.
    register = getattr(client, "register_plugin", None)
    if register is not None:
        register(plugin, name=PLUGIN_NAME)
    else:  # pragma: no cover
        client.register_worker_plugin(plugin, name=PLUGIN_NAME)


def _collect(distributed: Any, futures: Dict[Any, Path], result: DistributedSummary, *, quiet: bool) -> None:
    from tqdm import tqdm

    with tqdm(total=len(futures), unit="partition", disable=quiet) as progress:
        for future in distributed.as_completed(list(futures)):
            path = futures[future]
            try:
                _add(result, future.result())
            except PartitionFailed as err:
                result.failed.append({"input": str(path), "error": str(err)})
            except Exception as err:  # one bad partition must not lose the others' results
                result.failed.append({"input": str(path), "error": f"{type(err).__name__}: {err}"})
            progress.update(1)


def _add(result: DistributedSummary, row: Dict[str, Any]) -> None:
    result.partitions.append(row)
    for name in ("records", "annotated", "errors", "spans", "processed", "raised"):
        # .get: summaries written before `raised` existed lack it
        setattr(result, name, getattr(result, name) + row.get(name, 0))


def _settings(path: Path, *, model: str, options: Dict[str, Any]) -> Dict[str, Any]:
    kept = {k: v for k, v in options.items() if k not in ("batch_size", "restart")}
    return {
        "input": str(path.resolve()), "input_fingerprint": input_fingerprint(path),
        "model": model, "model_hash": model_spec_hash(model), **kept,
    }


def _completed(path: Path, output: Path, *, model: str, options: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    summary_path = _summary_path(output)
    if not (summary_path.exists() and output.exists() and errors_path_for(output).exists()):
        return None
    saved = json.loads(summary_path.read_text(encoding="utf-8"))
    if saved.get("settings") != json.loads(json.dumps(_settings(path, model=model, options=options))):
        return None
    return saved["summary"]


def _annotate_partition(input_path: str, output: str, model: str, options: Dict[str, Any]) -> Dict[str, Any]:
    """The Dask task: annotate one partition with the worker's pipeline."""
    from distributed import get_worker

    from .annotate.run import annotate

    plugin = get_worker().plugins.get(PLUGIN_NAME)
    nlp = plugin.nlp if plugin is not None and plugin.nlp is not None else None
    if nlp is None:  # pragma: no cover - the plugin loads it on every worker
        raise RuntimeError(f"worker has no pipeline: the {PLUGIN_NAME} plugin did not load {model}")
    try:
        summary = annotate(nlp, input_path, output, quiet=True, n_process=1, **options)
    except (AnnotateStopped, OutputStopped) as err:
        raise PartitionFailed(f"stopped: {err}; done before it: {err.summary.summary()}. {err.rerun}") from None
    except InputFailure as err:
        raise PartitionFailed(f"{err}. {err.rerun}") from None
    except (InputError, ResumeError, OutputPathError, OutputWriteError) as err:
        raise PartitionFailed(str(err)) from None
    row = {"input": input_path, **summary.to_dict()}
    settings = _settings(Path(input_path), model=model, options=options)
    tmp = _summary_path(Path(output)).with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"settings": settings, "summary": row}, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, _summary_path(Path(output)))
    return row

