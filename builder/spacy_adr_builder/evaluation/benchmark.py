"""Speed of an installed (or saved) pipeline beside a plain Hugging Face baseline, same tweets,
same machine, same run.

Each measurement runs in a fresh process (multiprocessing "fork", before any model is loaded), so that its load time and
peak memory are its own: the pipeline's `spacy.load` time, `nlp.pipe` tweets/s and words/s
and peak RSS; and, as the baseline, `transformers.pipeline("token-classification")` over the
same encoder (a token-classification head on it, untrained: speed does not depend on the
weights) on the same tweets with the same batch size.

A pipeline can be timed as saved and under other encoder settings (`inference`: quantised
or fp32, length groups; `spacy_adr.inference_settings`), and each setting's accuracy measured
on dev beside its speed (`accuracy`), so that what int8 costs is a number.
"""
import multiprocessing
import resource
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from spacy.tokens import DocBin

from spacy_adr.models.inference import QUANTIZE_CHOICES
from spacy_adr.pipeline.concept_linker import LINKER_FACTORIES


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


def parse_inference(text: str) -> Dict[str, Any]:
    """Encoder settings written as QUANTIZE/GROUPS[/LINKER_QUANTIZE], e.g. "fp32/0",
    "int8/16/int8".

    text (str): The settings: the transformer's quantize and length groups and, optionally,
        the linker's quantize (else it stays as saved).
    RETURNS (Dict[str, Any]): Keyword arguments for `set_inference`.
    """
    choices = (*QUANTIZE_CHOICES, "fp32")
    parts = text.split("/")
    if not 2 <= len(parts) <= 3 or not parts[1].isdigit() or any(part not in choices for part in parts[:1] + parts[2:]):
        raise ValueError(f"encoder settings {text!r}: expected QUANTIZE/GROUPS[/LINKER_QUANTIZE], e.g. fp32/0 or int8/16/int8")
    settings: Dict[str, Any] = {"quantize": parts[0], "length_groups": int(parts[1])}
    if len(parts) == 3:
        settings["linker_quantize"] = parts[2]
    return settings


def settings_label(settings: Dict[str, Dict[str, Any]]) -> str:
    """e.g. "transformer int8/16; adr_meddra_linker int8"; "" for a pipeline without encoders."""
    return "; ".join(
        f"{name} {values['quantize']}" + (f"/{values['length_groups']}" if "length_groups" in values else "")
        for name, values in settings.items()
    )


def _load(model: str, inference: Optional[Dict[str, Any]]):
    import spacy

    from spacy_adr.inference_settings import inference_settings, set_inference

    start = time.perf_counter()
    nlp = spacy.load(model)
    if inference:
        set_inference(nlp, **inference)
    load_s = time.perf_counter() - start
    return nlp, load_s, inference_settings(nlp)


def _time_pipeline(
    model: str, texts: Sequence[str], batch_size: int, n_process: int, inference: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    nlp, load_s, settings = _load(model, inference)
    list(nlp.pipe(texts[:batch_size], batch_size=batch_size))  # warm-up
    _forget_links(nlp)
    start = time.perf_counter()
    n_words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=batch_size, n_process=n_process))
    seconds = time.perf_counter() - start
    result = {
        "load_s": load_s, "seconds": seconds, "tweets_per_s": len(texts) / seconds,
        "words_per_s": n_words / seconds, "peak_rss_mb": _peak_rss_mb(), "pipeline": list(nlp.pipe_names),
        "inference": settings_label(settings),
    }
    result.update(_time_components(nlp, texts, batch_size))
    return result


def _forget_links(nlp) -> None:
    # The linker remembers the links of mentions it has seen; a timed pass starts without
    # them, so that repeats count only within the tweets timed, as on a fresh dump.
    for name, component in nlp.components:
        if nlp.get_pipe_meta(name).factory in LINKER_FACTORIES:
            component.forget_links()


def _time_components(nlp, texts: Sequence[str], batch_size: int) -> Dict[str, Any]:
    # A second pass, one component at a time, to show where the time goes; the linker's
    # mentions/s is the number of entities it linked over its own time.
    _forget_links(nlp)
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
        if nlp.get_pipe_meta(name).factory in LINKER_FACTORIES:
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


def _accuracy(
    model: str, inference: Optional[Dict[str, Any]], spans: Optional[str], classes: Optional[str]
) -> Dict[str, Any]:
    from spacy_adr.classification import adr_classifier_name

    from .textcat import evaluate_textcat
    from .ner import evaluate_ner

    nlp, _, _ = _load(model, inference)
    scores: Dict[str, Any] = {}
    if spans:
        linked = any(nlp.get_pipe_meta(name).factory in LINKER_FACTORIES for name in nlp.pipe_names)
        ner = evaluate_ner(nlp, spans, linked=linked)
        scores.update({f"ner_{key}": ner["ner"][key] for key in ("strict_p", "strict_r", "strict_f", "relaxed_p", "relaxed_r", "relaxed_f")})
        if linked:
            scores["e2e_relaxed_f"] = ner["e2e"]["relaxed_f"]
    if classes and adr_classifier_name(nlp):
        tweets = evaluate_textcat(nlp, classes)
        scores.update({"tweet_p": tweets["p"], "tweet_r": tweets["r"], "tweet_f": tweets["f"]})
    return scores


def accuracy(
    model: str, *, inference: Optional[Dict[str, Any]] = None, spans: Optional[str] = None,
    classes: Optional[str] = None,
) -> Dict[str, Any]:
    """Dev accuracy of a pipeline under given encoder settings, in a fresh process.

    model (str): Installed package name or path.
    inference (Optional[Dict[str, Any]]): `set_inference` arguments; None: as saved.
    spans (Optional[str]): Gold spans (.spacy, e.g. corpus/task3/dev.spacy): ner_strict_*,
        ner_relaxed_* and, with a linker, e2e_relaxed_f.
    classes (Optional[str]): Gold ADR/NoADR tweets (.spacy): tweet_p/r/f at the pipeline's
        threshold, when it classifies tweets.
    RETURNS (Dict[str, Any]): The scores.
    """
    return _in_fresh_process(_accuracy, model, inference, spans, classes)


def benchmark(
    model: str, texts: Sequence[str], *, baseline_encoder: Optional[str] = None,
    batch_size: int = 128, n_process: int = 1, inference: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """Time a pipeline and, optionally, the plain HF baseline on the same tweets.

    model (str): Installed package name or path.
    texts (Sequence[str]): The tweets.
    baseline_encoder (Optional[str]): HF model folder or name for the baseline; None skips it.
    batch_size (int): Batch size of both.
    n_process (int): `nlp.pipe` processes.
    inference (Optional[Dict[str, Any]]): Encoder settings for `set_inference` after loading
        (load_s includes them); None: as saved.
    RETURNS (Dict[str, Any]): tweets_per_s, words_per_s, load_s, peak_rss_mb, n, batch_size,
        inference (the encoders' settings as timed);
        seconds_NAME per component (a separate one-at-a-time pass) and, with a linker,
        linker_mentions and linker_mentions_per_s; baseline_tweets_per_s and ratio
        (ours / baseline) when there is a baseline.
    """
    result = _in_fresh_process(_time_pipeline, model, list(texts), batch_size, n_process, inference)
    result.update({"n": len(texts), "batch_size": batch_size, "n_process": n_process})
    if baseline_encoder:
        baseline = _in_fresh_process(_time_hf_baseline, baseline_encoder, list(texts), batch_size)
        result["baseline_tweets_per_s"] = baseline["tweets_per_s"]
        result["baseline_peak_rss_mb"] = baseline["peak_rss_mb"]
        result["ratio"] = result["tweets_per_s"] / baseline["tweets_per_s"]
    return result
