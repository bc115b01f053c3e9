"""Fork safety for torch pipelines: `nlp.pipe(texts, n_process=N)` starts its workers with
`fork` (the default on Linux), and a child forked after torch's OpenMP thread pool started
waits forever in its first parallel operation (a futex wait, e.g. inside layer_norm; spaCy
issues 6662 and 13233). After a fork, each child therefore runs torch on one thread, which
never enters an OpenMP parallel region: N workers on N cores, as torch's own DataLoader
workers do. A process that never imported torch is not touched.

`install()` is idempotent; importing `spacy_adr` (which `spacy.load` of a spacy_adr pipeline
does through the entry points) calls it.
"""
import os
import sys

_installed = False


def _torch_on_one_thread() -> None:
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def install() -> None:
    """Make every child forked from now on run torch single-threaded."""
    global _installed
    if not _installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_torch_on_one_thread)
        _installed = True
