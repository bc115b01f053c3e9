"""The `spacy-adr serve` app on the toy ADR pipeline, through FastAPI's test client."""
import json

import pytest
import spacy

pytest.importorskip("fastapi", reason="the app needs the web extra (fastapi)")
pytest.importorskip("httpx", reason="FastAPI's test client needs httpx")

from fastapi.testclient import TestClient  # noqa: E402

from annotate_helpers import build_toy_pipeline  # noqa: E402
from spacy_adr.annotate import annotate, read_jsonl  # noqa: E402
from spacy_adr.serve import create_app  # noqa: E402

TWEETS = ["cipro gave me a headache", "this drug is fine", "weight gain and dry mouth on seroquel"]


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    return spacy.load(build_toy_pipeline(tmp_path_factory.mktemp("toy") / "pipeline", gate=True))


@pytest.fixture(scope="module")
def client(nlp):
    return TestClient(create_app(nlp, max_chars=100, max_tweets=5, max_body_bytes=2000))


def test_annotate_returns_the_records_of_spacy_adr_annotate(client, nlp, tmp_path):
    tweets = [{"id": "t1", "text": TWEETS[0]}, TWEETS[1], {"text": TWEETS[2]}]
    response = client.post("/annotate", json={"tweets": tweets, "include_text": True, "candidates": True})
    assert response.status_code == 200, response.text
    dump = tmp_path / "tweets.jsonl"
    dump.write_text("".join(json.dumps({"id": "t1", "text": TWEETS[0]}) + "\n" if i == 0 else json.dumps({"text": t}) + "\n" for i, t in enumerate(TWEETS)), encoding="utf-8")
    annotate(nlp, dump, tmp_path / "out.jsonl", include_text=True, candidates=True, quiet=True)
    assert response.json()["records"] == read_jsonl(tmp_path / "out.jsonl")
    first = response.json()["records"][0]
    assert first["id"] == "t1" and first["adr_label"] is True
    assert first["spans"][0]["meddra_code"] == "10019211" and first["spans"][0]["meddra_term"] == "Headache"


def test_render_shows_spans_with_terms_and_codes(client):
    response = client.post("/render", json={"tweets": TWEETS})
    assert response.status_code == 200
    data = response.json()
    assert "ADR: Headache" in data["html"] and "10019211" in data["html"] and "ADR probability 0.90" in data["html"]
    assert [len(spans) for spans in data["spans"]] == [1, 0, 2]
    assert data["spans"][0][0]["adr_score"] == 0.75


def test_page_and_health(client):
    page = client.get("/")
    assert page.status_code == 200 and "<textarea" in page.text and "up to 5 tweets" in page.text
    assert client.get("/health").json()["status"] == "ok"


@pytest.mark.parametrize("body,status,message", [
    ({"tweets": []}, 422, "no tweets"),
    ({"tweets": ["   "]}, 422, "tweet 1 is empty"),
    ({"tweets": ["fine", {"id": "x"}]}, 422, "tweet 2: the text must be a string"),
    ({"tweets": "a headache"}, 422, '"tweets" must be a list'),
    ({"text": "a headache"}, 422, '{"tweets"'),
    ([1, 2], 422, '{"tweets"'),
    ({"tweets": ["x" * 101]}, 413, "tweet 1 has 101 characters; the limit is 100"),
    ({"tweets": ["a"] * 6}, 413, "6 tweets in one request; the limit is 5"),
    ({"tweets": ["a"], "include_text": "yes"}, 422, '"include_text" must be true or false'),
    ({"tweets": [{"id": float("nan"), "text": "a"}]}, 400, "not valid JSON"),
])
def test_bad_requests_get_clear_errors(client, body, status, message):
    # json.dumps writes NaN as a bare word, which is not JSON.
    response = client.post("/annotate", content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_malformed_oversized_and_wrong_type_bodies(client):
    malformed = client.post("/annotate", content=b'{"tweets": ["a", }', headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and "not valid JSON" in malformed.json()["detail"]
    not_utf8 = client.post("/annotate", content=b'{"tweets": ["\xff"]}', headers={"Content-Type": "application/json"})
    assert not_utf8.status_code == 400 and "UTF-8" in not_utf8.json()["detail"]
    large = client.post("/annotate", content=json.dumps({"tweets": ["a" * 90] * 30}), headers={"Content-Type": "application/json"})
    assert large.status_code == 413 and "2,000" in large.json()["detail"]
    form = client.post("/annotate", content=b"tweets=a", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415 and "application/json" in form.json()["detail"]
    assert client.get("/annotate").status_code == 405
