"""Annotating batches of texts: in this process, or in worker processes.

Both annotators take the same batches (`units`: input records, cut so that no batch crosses a
chunk boundary) and return, for each readable record, its serialized output or the reason it
could not be written. The same batches give the same bytes, whatever the number of processes
and wherever a resumed run starts (padding inside a transformer batch changes the last digits
of its floats, so batches must not depend on where reading began).

Each batch runs inside `nlp.memory_zone()`: the strings a batch adds to the vocab (about one
new string per tweet: user names, URLs, typos) and their lexemes are freed after it, and the
string and lexeme indexes are rebuilt when the freed keys' cells make up most of them (see
`memory`).

A batch in which a component raises is annotated again one record at a time: the records that
still raise get an error naming the component and the exception (`Result.raised`), the others
their normal output. A batch that raises nowhere is never annotated twice, so its bytes do not
depend on whether another batch failed.

`ProcessAnnotator` starts its workers with `spawn`: each worker loads the pipeline itself
(nothing of torch's threads is inherited), runs torch on `cpu_count // n_process` threads, and
sends back serialized lines rather than Docs. Components registered in this process by an
importable module (not by `--code`, which the workers import too) are registered in the
workers by importing that module. A script that calls it needs the usual
`if __name__ == "__main__":` guard.
"""
import importlib
import multiprocessing
import os
import pickle
import sys
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Deque, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple, Union

from spacy.language import Language

from .inputs import InputRecord
from .memory import compact_lexeme_index, compact_string_index
from .outputs import RecordOptions, serialize_doc

Unit = List[InputRecord]
# What a worker gets of a readable record: its text, id and kept fields.
Item = Tuple[str, Any, Dict[str, Any]]
# Exception messages can hold a whole text; an error line keeps this much of one.
MAX_MESSAGE_CHARS = 500


class Result(NamedTuple):
    """What annotating one readable record gave (travels back from worker processes).

    data (Optional[bytes]): The serialized output lines; None when the record is an error.
    n_spans (int): Spans in the output.
    error (Optional[str]): Why there is no output; None when there is.
    raised (bool): The error was raised inside the pipeline (a broken pipeline raises on
        every record, and the run stops after a few of them).
    """

    data: Optional[bytes]
    n_spans: int = 0
    error: Optional[str] = None
    raised: bool = False


def annotate_batch(nlp: Language, items: List[Item], options: RecordOptions, batch_size: int) -> List[Result]:
    """Annotate one batch of texts inside a memory zone and serialize each. When the pipeline
    raises, annotate the texts one by one, so that only the texts it raises on become errors.

    nlp (Language): The pipeline.
    items (List[Item]): (text, record id, kept fields) of each record.
    options (RecordOptions): What goes into each record.
    batch_size (int): `nlp.pipe` batch size (at least len(items) keeps it one batch).
    RETURNS (List[Result]): One result per item, in order.
    """
    try:
        return _annotate(nlp, items, options, batch_size)
    except Exception as err:  # any component may raise anything
        if len(items) == 1:
            return [_raised(err)]
    results: List[Result] = []
    for item in items:
        try:
            results.extend(_annotate(nlp, [item], options, 1))
        except Exception as err:
            results.append(_raised(err))
    return results


def _annotate(nlp: Language, items: List[Item], options: RecordOptions, batch_size: int) -> List[Result]:
    results: List[Result] = []
    with nlp.memory_zone():
        docs = nlp.pipe((text for text, _, _ in items), batch_size=batch_size)
        for doc, (_, record_id, fields) in zip(docs, items):
            try:
                data, n_spans = serialize_doc(doc, record_id, options, fields)
            except (ValueError, TypeError) as err:
                results.append(Result(None, 0, f"the output record cannot be written: {err}"))
            else:
                results.append(Result(data, n_spans))
    compact_string_index(nlp.vocab.strings)
    compact_lexeme_index(nlp.vocab)
    return results


def _raised(err: Exception) -> Result:
    message = str(err)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + "..."
    component = failing_component(err)
    where = f"component {component!r}" if component is not None else "the pipeline"
    return Result(None, 0, f"{where} raised {type(err).__name__}: {message}", raised=True)


def failing_component(err: BaseException) -> Optional[str]:
    """The name of the pipeline component an exception from `nlp.pipe` was raised in.

    err (BaseException): The exception, with its traceback.
    RETURNS (Optional[str]): The component's name; None when it was raised outside the
        components (the tokenizer) or spaCy's internals changed.
    """
    # `nlp.pipe` runs each component inside `spacy.util._pipe(docs, proc, name, ...)`, each
    # pulling docs from the one before, the first from the tokenizer (`Language._ensure_doc`):
    # the innermost of these frames is the one that raised.
    name = None
    tb = err.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        module, function = frame.f_globals.get("__name__"), frame.f_code.co_name
        if module == "spacy.util" and function == "_pipe":
            name = frame.f_locals.get("name")
        elif module == "spacy.language" and function == "_ensure_doc":
            name = None
        tb = tb.tb_next
    return name if isinstance(name, str) else None


def units(records: Iterable[InputRecord], *, chunk_size: int, batch_size: int) -> Iterator[Unit]:
    """Cut records into batches of at most `batch_size` readable records, never across a
    chunk boundary. Counted from the first record given, which must start a chunk.

    records (Iterable[InputRecord]): The records, from a chunk boundary on.
    chunk_size (int): Records per chunk.
    batch_size (int): Readable records per batch.
    YIELDS (Unit): The records of each batch, errors included.
    """
    unit: Unit = []
    n_ok = 0
    in_chunk = 0
    for record in records:
        unit.append(record)
        n_ok += record.ok
        in_chunk += 1
        if n_ok == batch_size or in_chunk == chunk_size:
            yield unit
            unit, n_ok = [], 0
            in_chunk %= chunk_size
    if unit:
        yield unit


def _items(unit: Unit) -> List[Item]:
    return [(record.text, record.id, record.fields) for record in unit if record.ok]  # type: ignore[misc]


class LocalAnnotator:
    """Annotates in this process.

    nlp (Language): The pipeline.
    batch_size (int): `nlp.pipe` batch size.
    """

    def __init__(self, nlp: Language, *, batch_size: int) -> None:
        self.nlp = nlp
        self.batch_size = batch_size

    def map_units(self, batches: Iterable[Unit], options: RecordOptions) -> Iterator[Tuple[Unit, List[Result]]]:
        """Annotate batch after batch.

        batches (Iterable[Unit]): From `units`.
        options (RecordOptions): What goes into each record.
        YIELDS (Tuple[Unit, List[Result]]): Each batch with the results of its readable records.
        """
        for unit in batches:
            items = _items(unit)
            yield unit, annotate_batch(self.nlp, items, options, self.batch_size) if items else []

    def close(self) -> None:
        pass


class ProcessAnnotator:
    """Annotates in `n_process` spawned worker processes, each with its own pipeline.

    model (Union[str, Language]): Package name or path (each worker loads it), or a pipeline
        (pickled to the workers).
    n_process (int): Worker processes.
    batch_size (int): Readable records per batch sent to a worker.
    code (Optional[str]): A Python file the workers import first (registered components).
    max_length (int): The workers' `nlp.max_length` is raised to at least this.
    threads (Optional[int]): torch threads per worker; None: cpu_count // n_process, at least 1.
    """

    def __init__(
        self,
        model: Union[str, Language],
        *,
        n_process: int,
        batch_size: int,
        code: Optional[str] = None,
        max_length: int = 0,
        threads: Optional[int] = None,
    ) -> None:
        self.n_process = n_process
        self.batch_size = batch_size
        if threads is None:
            threads = max(1, (os.cpu_count() or 1) // n_process)
        spec: Union[str, bytes] = pickle.dumps(model) if isinstance(model, Language) else str(model)
        self._executor = ProcessPoolExecutor(
            max_workers=n_process,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(spec, factory_modules(model), code, max_length, threads),
        )

    def describe(self) -> Dict[str, Any]:
        """What the workers loaded: {"threshold", "path", "name", "pipe_names"}."""
        return self._result(self._executor.submit(_describe))

    def map_units(self, batches: Iterable[Unit], options: RecordOptions) -> Iterator[Tuple[Unit, List[Result]]]:
        """Annotate batches in the workers, keeping at most two per worker in flight.

        batches (Iterable[Unit]): From `units`.
        options (RecordOptions): What goes into each record.
        YIELDS (Tuple[Unit, List[Result]]): Each batch with its results, in input order.
        """
        window: Deque[Tuple[Unit, Optional[Future]]] = deque()
        for unit in batches:
            items = _items(unit)
            future = self._executor.submit(_annotate_in_worker, items, options, self.batch_size) if items else None
            window.append((unit, future))
            if len(window) > 2 * self.n_process:
                yield self._take(window)
        while window:
            yield self._take(window)

    def _take(self, window: Deque[Tuple[Unit, Optional[Future]]]) -> Tuple[Unit, List[Result]]:
        unit, future = window.popleft()
        return unit, ([] if future is None else self._result(future))

    def _result(self, future: Future) -> Any:
        try:
            return future.result()
        except BrokenProcessPool as err:
            raise RuntimeError(
                "an annotation worker process died (out of memory, killed, or the model failed "
                "to load: see its error above)"
            ) from err

    def close(self) -> None:
        """Stop the workers; batches not started are dropped."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def factory_modules(model: Union[str, Path, Language]) -> List[str]:
    """The modules that registered, in this process, the factories a pipeline is built from.

    model (Union[str, Path, Language]): A pipeline, or the folder of one (for an installed
        package: [], its factories come with it).
    RETURNS (List[str]): Importable module names, for the workers to import before loading.
    """
    import spacy
    from catalogue import RegistryError

    if isinstance(model, Language):
        config, lang = model.config, model.lang
    elif (Path(model) / "config.cfg").is_file():
        config = spacy.util.load_config(Path(model) / "config.cfg", interpolate=False)
        lang = config["nlp"]["lang"]
    else:
        return []
    modules = set()
    for block in config.get("components", {}).values():
        factory = block.get("factory")
        for name in (f"{lang}.{factory}", factory) if factory else ():
            try:
                module = spacy.registry.factories.get(name).__module__
            except RegistryError:
                continue
            if module and module != "__main__" and module in sys.modules:
                modules.add(module)
            break
    return sorted(modules)


# ---- in the worker processes ----------------------------------------------------------------

_worker_nlp: Optional[Language] = None


def _init_worker(
    spec: Union[str, bytes], modules: List[str], code: Optional[str], max_length: int, threads: int
) -> None:
    global _worker_nlp
    import torch

    torch.set_num_threads(threads)
    from .loading import import_code, load_pipeline

    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            pass  # e.g. a file spacy imported under a made-up name: `code` brings it
    import_code(code)
    nlp = pickle.loads(spec) if isinstance(spec, bytes) else load_pipeline(spec)
    nlp.max_length = max(nlp.max_length, max_length)
    _worker_nlp = nlp


def _describe() -> Dict[str, Any]:
    from ..classification import adr_threshold

    nlp = _worker_nlp
    assert nlp is not None
    return {
        "threshold": adr_threshold(nlp),
        "path": str(nlp.path) if nlp.path is not None else None,
        "name": f"{nlp.lang}_{nlp.meta.get('name', '')}-{nlp.meta.get('version', '')}",
        "pipe_names": list(nlp.pipe_names),
    }


def _annotate_in_worker(items: List[Item], options: RecordOptions, batch_size: int) -> List[Result]:
    assert _worker_nlp is not None
    return annotate_batch(_worker_nlp, items, options, batch_size)
