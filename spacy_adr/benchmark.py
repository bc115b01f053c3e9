"""Speed of an installed (or saved) pipeline beside a plain Hugging Face baseline, same tweets,
same machine, same run.

Each measurement runs in a fresh process (multiprocessing "fork", before any model is loaded), so that its load time and
peak memory are its own: the pipeline's `spacy.load` time, `nlp.pipe` tweets/s and words/s
and peak RSS; and, as the baseline, `transformers.pipeline("token-classification")` over the
same encoder (a token-classification head on it, untrained: speed does not depend on the
weights) on the same tweets with the same batch size.
"""
import multiprocessing
import resource
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from spacy.tokens import DocBin


def read_texts(path: Union[str, Path], limit: int) -> List[str]:
    """The texts of the first `limit` Docs of a `.spacy` corpus."""
    import spacy

    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such corpus")
    vocab = spacy.blank("xx").vocab
    texts = [doc.text for doc in DocBin().from_disk(path).get_docs(vocab)]
    return texts[:limit] if limit else texts


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _time_pipeline(model: str, texts: Sequence[str], batch_size: int, n_process: int) -> Dict[str, Any]:
    import spacy

    start = time.perf_counter()
    nlp = spacy.load(model)
    load_s = time.perf_counter() - start
    list(nlp.pipe(texts[:batch_size], batch_size=batch_size))  # warm-up
    start = time.perf_counter()
    n_words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=batch_size, n_process=n_process))
    seconds = time.perf_counter() - start
    result = {
        "load_s": load_s, "seconds": seconds, "tweets_per_s": len(texts) / seconds,
        "words_per_s": n_words / seconds, "peak_rss_mb": _peak_rss_mb(), "pipeline": list(nlp.pipe_names),
    }
    result.update(_time_components(nlp, texts, batch_size))
    return result


def _time_components(nlp, texts: Sequence[str], batch_size: int) -> Dict[str, Any]:
    # A second pass, one component at a time, to show where the time goes; the linker's
    # mentions/s is the number of entities it linked over its own time.
    start = time.perf_counter()
    docs = [nlp.make_doc(text) for text in texts]
    timings: Dict[str, Any] = {"seconds_tokenizer": time.perf_counter() - start}
    for name, component in nlp.pipeline:
        start = time.perf_counter()
        if hasattr(component, "pipe"):
            docs = list(component.pipe(docs, batch_size=batch_size))
        else:
            docs = [component(doc) for doc in docs]
        timings[f"seconds_{name}"] = time.perf_counter() - start
        if nlp.get_pipe_meta(name).factory == "adr_meddra_linker":
            mentions = sum(len(doc.ents) for doc in docs)
            timings["linker_mentions"] = mentions
            timings["linker_mentions_per_s"] = mentions / max(timings[f"seconds_{name}"], 1e-9)
    return timings


def _time_hf_baseline(encoder: str, texts: Sequence[str], batch_size: int) -> Dict[str, Any]:
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model = AutoModelForTokenClassification.from_pretrained(encoder, num_labels=3)
    tagger = pipeline("token-classification", model=model, tokenizer=tokenizer, device=-1)
    load_s = time.perf_counter() - start
    tagger(list(texts[:batch_size]), batch_size=batch_size)  # warm-up
    start = time.perf_counter()
    tagger(list(texts), batch_size=batch_size)
    seconds = time.perf_counter() - start
    return {"load_s": load_s, "seconds": seconds, "tweets_per_s": len(texts) / seconds, "peak_rss_mb": _peak_rss_mb()}


def _with_torch_threads(threads: int, function, *args) -> Dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    return function(*args)


def _in_fresh_process(function, *args) -> Dict[str, Any]:
    # fork, not spawn: a spawned child re-runs the `spacy-adr` console script as __main__.
    # The parent has loaded no model, so the child starts from a clean slate either way.
    # spacy_adr's fork guard puts a forked child's torch on one thread (safe for nlp.pipe's
    # workers); a measurement runs alone, so it gets the parent's threads back.
    import torch

    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        return pool.apply(_with_torch_threads, (torch.get_num_threads(), function, *args))


def benchmark(
    model: str, texts: Sequence[str], *, baseline_encoder: Optional[str] = None,
    batch_size: int = 128, n_process: int = 1,
) -> Dict[str, Any]:
    """Time a pipeline and, optionally, the plain HF baseline on the same tweets.

    model (str): Installed package name or path.
    texts (Sequence[str]): The tweets.
    baseline_encoder (Optional[str]): HF model folder or name for the baseline; None skips it.
    batch_size (int): Batch size of both.
    n_process (int): `nlp.pipe` processes.
    RETURNS (Dict[str, Any]): tweets_per_s, words_per_s, load_s, peak_rss_mb, n, batch_size;
        seconds_NAME per component (a separate one-at-a-time pass) and, with a linker,
        linker_mentions and linker_mentions_per_s; baseline_tweets_per_s and ratio
        (ours / baseline) when there is a baseline.
    """
    result = _in_fresh_process(_time_pipeline, model, list(texts), batch_size, n_process)
    result.update({"n": len(texts), "batch_size": batch_size, "n_process": n_process})
    if baseline_encoder:
        baseline = _in_fresh_process(_time_hf_baseline, baseline_encoder, list(texts), batch_size)
        result["baseline_tweets_per_s"] = baseline["tweets_per_s"]
        result["baseline_peak_rss_mb"] = baseline["peak_rss_mb"]
        result["ratio"] = result["tweets_per_s"] / baseline["tweets_per_s"]
    return result
