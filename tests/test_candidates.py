"""Nearest-concept search (spacy_adr.kb.candidates.ConceptIndex)."""
import numpy
import pytest

from spacy_adr.kb.candidates import ConceptIndex, cosine_to_distance


def _unit(rows: numpy.ndarray) -> numpy.ndarray:
    return rows / numpy.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def vectors() -> numpy.ndarray:
    return _unit(numpy.random.default_rng(0).normal(size=(200, 16)).astype("float32"))


def test_search_matches_brute_force(vectors):
    codes = [f"{10000000 + i}" for i in range(len(vectors))]
    index = ConceptIndex(vectors, codes)
    queries = _unit(vectors[:20] + 0.05 * numpy.random.default_rng(1).normal(size=(20, 16)).astype("float32"))
    scores, rows = index.search(queries, k=5)
    exact = queries @ vectors.T
    expected = numpy.argsort(-exact, axis=1)[:, :5]
    assert rows.shape == (20, 5)
    assert (rows[:, 0] == expected[:, 0]).all()
    # Scores are fp32 cosines of the bf16-stored vectors: close to the exact ones, best first.
    numpy.testing.assert_allclose(scores[:, 0], exact[numpy.arange(20), expected[:, 0]], atol=1e-2)
    assert (numpy.diff(scores, axis=1) <= 1e-6).all()


def test_search_normalises_queries_and_caps_k(vectors):
    index = ConceptIndex(vectors[:3], ["1", "2", "3"])
    scores, rows = index.search(vectors[:1] * 7.0, k=10)
    assert rows.shape == (1, 3)
    assert rows[0, 0] == 0
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-2)


def test_index_round_trip(tmp_path, vectors):
    index = ConceptIndex(vectors, [str(i) for i in range(len(vectors))])
    index.to_disk(tmp_path / "index")
    loaded = ConceptIndex.from_disk(tmp_path / "index")
    assert loaded.codes == index.codes
    assert loaded.nbytes == len(vectors) * 16 * 2  # 16-bit storage
    a = index.search(vectors[:5], k=3)
    b = loaded.search(vectors[:5], k=3)
    numpy.testing.assert_array_equal(a[1], b[1])


def test_build_encodes_in_batches(vectors):
    calls = []

    def encode(texts):
        calls.append(len(texts))
        return vectors[: len(texts)]

    index = ConceptIndex.build(["a"] * 5, list("12345"), encode, batch_size=2)
    assert calls == [2, 2, 1]
    assert len(index) == 5


def test_extend_appends_searchable_rows(tmp_path, vectors):
    index = ConceptIndex(vectors[:10], [str(i) for i in range(10)])
    index.extend(vectors[10:12] * 3.0, ["5", "99"])
    assert len(index) == 12 and index.codes[10:] == ["5", "99"]
    scores, rows = index.search(vectors[11:12], k=1)
    assert index.codes[rows[0, 0]] == "99" and scores[0, 0] == pytest.approx(1.0, abs=1e-2)
    index.to_disk(tmp_path / "index")
    assert ConceptIndex.from_disk(tmp_path / "index").codes == index.codes
    with pytest.raises(ValueError, match="width 3"):
        index.extend(numpy.ones((1, 3), dtype="float32"), ["1"])


def test_shape_errors(vectors):
    with pytest.raises(ValueError, match="codes"):
        ConceptIndex(vectors, ["1"])
    index = ConceptIndex(vectors, [str(i) for i in range(len(vectors))])
    with pytest.raises(ValueError, match="width"):
        index.search(numpy.ones((1, 3), dtype="float32"))


def test_cosine_to_distance():
    assert cosine_to_distance(1.0) == pytest.approx(0.0)
    assert cosine_to_distance(0.0) == pytest.approx(2**0.5)
    assert cosine_to_distance(-1.0) == pytest.approx(2.0)
