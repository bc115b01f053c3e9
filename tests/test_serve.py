"""The `spacy-adr serve` app on the toy ADR pipeline, through FastAPI's test client."""
import asyncio
import json
import random

import pytest
import spacy

pytest.importorskip("fastapi", reason="the app needs the web extra (fastapi)")
pytest.importorskip("httpx", reason="FastAPI's test client needs httpx")

from fastapi.testclient import TestClient  # noqa: E402

from annotate_helpers import build_toy_pipeline  # noqa: E402
from spacy_adr.annotate import annotate, read_jsonl  # noqa: E402
from spacy_adr.serve import RequestError, create_app, parse_request  # noqa: E402

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


@pytest.fixture(scope="module")
def roomy_client(nlp):
    # The default body limit (1 MiB), so that hostile bodies reach the JSON parser.
    return TestClient(create_app(nlp, max_chars=100, max_tweets=5))


@pytest.mark.parametrize("body,message", [
    (b"[" * 100000, "nested too deeply"),
    (b'{"a": ' * 100000, "nested too deeply"),
    (b'{"tweets": [' + b"[" * 50000, "nested too deeply"),
    # Valid JSON, but deeper than the parser recurses.
    (b'{"tweets": ["a", ' + b"[" * 5000 + b"]" * 5000 + b"]}", "nested too deeply"),
    (b'{"tweets": ["\xed\xa0\xbd"]}', "not UTF-8 (byte 13 is invalid)"),  # a surrogate in UTF-8 bytes
    ('{"tweets": ["a"]}'.encode("utf-16"), "not UTF-8 (byte 0 is invalid)"),
    (b'\xef\xbb\xbf{"tweets": ["a"]}', "BOM"),
    (b'{"tweets": [{"id": ' + b"9" * 100000 + b', "text": "a"}]}', "100,000 digits; the limit is 100"),
    (b'{"tweets": [{"id": -' + b"9" * 101 + b', "text": "a"}]}', "101 digits"),
    (b'{"tweets": ["a \\ud83"]}', "not valid JSON"),
    (b"", "not valid JSON"),
])
def test_hostile_bodies_get_400_with_a_detail(roomy_client, body, message):
    # The test client re-raises server exceptions: a RecursionError fails here, not as a 500.
    response = roomy_client.post("/annotate", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


def test_lone_surrogate_escapes_are_cleaned_in_texts_and_refused_in_ids(roomy_client):
    body = b'{"tweets": ["pain \\ud83d here", "x\\udc00"], "include_text": true}'
    response = roomy_client.post("/annotate", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert [r["text"] for r in response.json()["records"]] == ["pain \ufffd here", "x\ufffd"]
    for tweet, message in [({"id": "\ud83d", "text": "a"}, "U+D83D"), ({"id": 1e999, "text": "a"}, "Infinity")]:
        body = json.dumps({"tweets": [tweet]}).replace("Infinity", "1e999").encode("utf-8")
        response = roomy_client.post("/annotate", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422 and message in response.json()["detail"], response.text


def test_parse_request_raises_only_request_errors_on_mangled_bodies():
    # Byte-level mutations of a valid request: whatever the parser meets, the caller gets a
    # RequestError (a status and a detail), never another exception.
    valid = json.dumps({"tweets": ["a headache \ud83d\ude00", {"id": 12, "text": "b"}], "include_text": True}).encode()
    pieces = [b"[", b"{", b"]", b"}", b'"', b"\\", b"\\ud83d", b"\\udc00", b"\xff", b"\xed\xa0\x80",
              b"\x00", b"9" * 200, b"1e999", b"NaN", b"-", b",", b":", b"[" * 3000]
    rng = random.Random(0)
    for _ in range(2000):
        body = bytearray(valid)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(body) + 1)
            if rng.random() < 0.5:
                body[at:at + rng.randint(0, 3)] = rng.choice(pieces)
            else:
                body[at:at] = bytes([rng.randrange(256)])
        try:
            parse_request(bytes(body))
        except RequestError as error:
            assert error.status in (400, 413, 422) and error.detail


def post_raw(app, headers, body):
    """POST /annotate straight to the ASGI app, with header bytes no HTTP client would send."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/annotate", "raw_path": b"/annotate", "root_path": "",
             "query_string": b"", "headers": headers, "server": ("test", 80), "client": ("test", 1)}
    sent = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


def test_odd_content_lengths_get_413_or_are_ignored(nlp):
    app = create_app(nlp, max_body_bytes=2000)
    body = b'{"tweets": ["a headache"]}'
    for length, status, message in [
        ("9" * 5000, 413, "has 5,000 digits; the limit is 2,000 bytes"),
        ("2001", 413, "the body has 2,001 bytes; the limit is 2,000"),
        ("\u00b2", 200, None),  # not a length: the body is counted while it is read
    ]:
        headers = [(b"content-type", b"application/json"), (b"content-length", length.encode("latin-1"))]
        got_status, data = post_raw(app, headers, body)
        assert got_status == status, data
        assert message is None or message in data["detail"]
