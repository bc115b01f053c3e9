"""A small local web app to try a pipeline: a page with a text box, and a JSON API.

    GET  /          the page: one tweet per line, rendered with displaCy
    POST /annotate  {"tweets": ["text", {"id": "t1", "text": "..."}, ...]} ->
                    {"records": [...]}: the records of `spacy-adr annotate` (JSONL format)
    POST /render    the same request -> {"html": displaCy markup, "records": [...], "spans": [...]}
    GET  /health    {"status": "ok", "model": ..., "version": ...}

Requests are checked before the pipeline sees them: bodies over `max_body_bytes` (413),
a body that cannot be read as UTF-8 JSON (400: invalid bytes, bad syntax, NaN, arrays or
objects nested too deeply, an integer of more than `MAX_INT_DIGITS` digits), a wrong shape
or an empty tweet (422), more than `max_tweets` tweets or a tweet over `max_chars`
characters (413). Every error is `{"detail": "..."}`.
"""
import html
import json
import threading
from typing import Any, Dict, List, Optional, Tuple

from spacy.language import Language

from .annotate.cleaning import clean_text, id_problem
from .annotate.outputs import build_record
from .classification import adr_threshold

DEFAULT_MAX_CHARS = 5000
DEFAULT_MAX_TWEETS = 100
DEFAULT_MAX_BODY_BYTES = 1 << 20
# The longest integer a request may hold (a tweet id has 19 digits).
MAX_INT_DIGITS = 100


class RequestError(Exception):
    """A request the app refuses, with its HTTP status and a message for the user."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def parse_request(
    body: bytes, *, max_chars: int = DEFAULT_MAX_CHARS, max_tweets: int = DEFAULT_MAX_TWEETS
) -> Tuple[List[Tuple[Any, str]], Dict[str, bool]]:
    """Check an /annotate request body and take out its tweets and options.

    body (bytes): The raw body.
    max_chars (int): The longest tweet accepted, in characters.
    max_tweets (int): The most tweets in one request.
    RETURNS (Tuple[List[Tuple[Any, str]], Dict[str, bool]]): (id, text) pairs, ids defaulting
        to the 1-based position as in `spacy-adr annotate`; options include_text, candidates.
    RAISES (RequestError): What is wrong with the request.
    """
    payload = _load_json(body)
    if not isinstance(payload, dict) or "tweets" not in payload:
        raise RequestError(422, 'send a JSON object {"tweets": ["a tweet", ...]}')
    tweets = payload["tweets"]
    if not isinstance(tweets, list):
        raise RequestError(422, f'"tweets" must be a list, not {type(tweets).__name__}')
    if not tweets:
        raise RequestError(422, "no tweets: send at least one")
    if len(tweets) > max_tweets:
        raise RequestError(413, f"{len(tweets):,} tweets in one request; the limit is {max_tweets:,}")
    options = {}
    for key in ("include_text", "candidates"):
        value = payload.get(key, False)
        if not isinstance(value, bool):
            raise RequestError(422, f'"{key}" must be true or false')
        options[key] = value
    items = []
    for number, tweet in enumerate(tweets, start=1):
        record_id: Any = number
        if isinstance(tweet, dict):
            text = tweet.get("text")
            if tweet.get("id") not in (None, ""):
                record_id = tweet["id"]
                if isinstance(record_id, (dict, list)):
                    raise RequestError(422, f"tweet {number}: the id must be a string or a number")
                problem = id_problem(record_id)  # NaN cannot get here; 1e999, "\ud83d" can
                if problem:
                    raise RequestError(422, f"tweet {number}: {problem}")
        else:
            text = tweet
        if not isinstance(text, str):
            raise RequestError(422, f"tweet {number}: the text must be a string, not {type(text).__name__}")
        if not text.strip():
            raise RequestError(422, f"tweet {number} is empty")
        if len(text) > max_chars:
            raise RequestError(413, f"tweet {number} has {len(text):,} characters; the limit is {max_chars:,}")
        items.append((record_id, clean_text(text)[0]))
    return items, options


def _load_json(body: bytes) -> Any:
    """Decode a request body as JSON, turning whatever the parser raises on it into a 400.

    body (bytes): The raw body, any bytes a client sends.
    RETURNS (Any): The JSON value.
    RAISES (RequestError): 400, with what is wrong with the body.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(400, f"the body is not UTF-8 (byte {error.start:,} is invalid)") from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_int=_parse_int)
    except RecursionError:
        # The C scanner recurses once per "[" or "{", so a body of "[[[[..." ends in a
        # RecursionError, which is not a ValueError: without this it became a 500.
        raise RequestError(400, "the body cannot be read: its arrays or objects are nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, and what the hooks below raise
        raise RequestError(400, f"the body is not valid JSON: {error}") from None


def _no_constant(name: str) -> None:
    # Python's json reads NaN and Infinity, which are not JSON and cannot be written back.
    raise ValueError(f"{name} is not JSON")


def _parse_int(digits: str) -> int:
    # Python's own guard on int() (sys.get_int_max_str_digits, 4300 by default) can be turned
    # off in the process and speaks to programmers; this limit holds whatever it is set to,
    # and keeps a body of a million digits from costing quadratic time.
    n_digits = len(digits) - digits.startswith("-")
    if n_digits > MAX_INT_DIGITS:
        raise ValueError(f"a number has {n_digits:,} digits; the limit is {MAX_INT_DIGITS:,}")
    return int(digits)


class Annotator:
    """The pipeline behind the app: one call at a time, since a pipeline is not thread-safe."""

    def __init__(self, nlp: Language, *, threshold: Optional[float] = None, batch_size: int = 32) -> None:
        self.nlp = nlp
        self.threshold = adr_threshold(nlp) if threshold is None else threshold
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def docs(self, items: List[Tuple[Any, str]]) -> List[Any]:
        """The annotated Docs of (id, text) pairs, in order."""
        with self._lock:
            return list(self.nlp.pipe([text for _, text in items], batch_size=self.batch_size))

    def records(self, items: List[Tuple[Any, str]], docs: List[Any], options: Dict[str, bool]) -> List[Dict[str, Any]]:
        """The `spacy-adr annotate` records of annotated Docs."""
        return [
            build_record(doc, record_id=record_id, threshold=self.threshold, **options)
            for (record_id, _), doc in zip(items, docs)
        ]


def span_rows(doc: Any) -> List[Dict[str, Any]]:
    """What the page lists under a tweet: each span's term, code, link method and scores."""
    rows = []
    for ent in doc.ents:
        link_score = getattr(ent._, "link_score", None) if ent.has_extension("link_score") else None
        rows.append({
            "text": ent.text, "meddra_code": ent.kb_id_ or None, "meddra_term": ent._.meddra_term or None,
            "link_method": (ent._.link_method or None) if ent.has_extension("link_method") else None,
            "link_score": None if link_score is None else float(link_score),
            "adr_score": None if ent._.adr_score is None else float(ent._.adr_score),
        })
    return rows


def create_app(
    nlp: Language, *, max_chars: int = DEFAULT_MAX_CHARS, max_tweets: int = DEFAULT_MAX_TWEETS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, threshold: Optional[float] = None,
) -> Any:
    """The FastAPI app of a pipeline.

    nlp (Language): The pipeline.
    max_chars (int): The longest tweet accepted, in characters.
    max_tweets (int): The most tweets in one request.
    max_body_bytes (int): The largest request body accepted.
    threshold (Optional[float]): ADR decision threshold; None: the classifier's own.
    RETURNS (fastapi.FastAPI): The app.
    """
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import HTMLResponse, JSONResponse

    from .visualize import render

    annotator = Annotator(nlp, threshold=threshold)
    name = f"{nlp.lang}_{nlp.meta.get('name', 'pipeline')}"
    version = nlp.meta.get("version", "")
    app = FastAPI(title=f"spacy_adr: {name}", version=str(version), docs_url=None, redoc_url=None)

    async def read_items(request: Request) -> Tuple[List[Tuple[Any, str]], Dict[str, bool]]:
        # The declared length refuses a large body before it is read; the count while reading
        # catches a body sent without one (chunked).
        declared = request.headers.get("content-length")
        # isdigit alone takes "²", which int() refuses (a 500); and int() refuses thousands of
        # digits, which are over the limit anyway.
        if declared is not None and declared.isascii() and declared.isdigit():
            digits = declared.lstrip("0") or "0"
            if len(digits) > 30:
                raise RequestError(413, f"the declared body length has {len(digits):,} digits; the limit is {max_body_bytes:,} bytes")
            if int(digits) > max_body_bytes:
                raise RequestError(413, f"the body has {int(digits):,} bytes; the limit is {max_body_bytes:,}")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                raise RequestError(413, f"the body is over the limit of {max_body_bytes:,} bytes")
        content_type = request.headers.get("content-type", "")
        if content_type and "json" not in content_type.split(";")[0]:
            raise RequestError(415, f"send application/json, not {content_type}")
        return parse_request(bytes(body), max_chars=max_chars, max_tweets=max_tweets)

    @app.exception_handler(RequestError)
    async def request_error(request: Request, error: RequestError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status)

    @app.get("/health")
    def health() -> Dict[str, Any]:
        return {"status": "ok", "model": name, "version": version}

    @app.post("/annotate")
    async def annotate(request: Request) -> Dict[str, Any]:
        items, options = await read_items(request)
        docs = await run_in_threadpool(annotator.docs, items)
        return {"records": annotator.records(items, docs, options)}

    @app.post("/render")
    async def render_tweets(request: Request) -> Dict[str, Any]:
        items, options = await read_items(request)
        docs = await run_in_threadpool(annotator.docs, items)
        return {
            "html": render(docs, jupyter=False),
            "records": annotator.records(items, docs, options),
            "spans": [span_rows(doc) for doc in docs],
        }

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return PAGE.replace("{{TITLE}}", html.escape(f"{name} {version}")).replace(
            "{{LIMITS}}", html.escape(f"up to {max_tweets} tweets of up to {max_chars:,} characters")
        )

    return app


def serve(
    model: str, *, host: str = "127.0.0.1", port: int = 8000, code: Optional[str] = None, **limits: Any
) -> None:
    """Load a pipeline and serve the app with uvicorn until interrupted.

    model (str): Installed package name or pipeline path.
    host (str): Address to bind; 127.0.0.1 keeps the app local to this machine.
    port (int): Port to bind.
    code (Optional[str]): Python file with registered components to import first.
    limits: max_chars, max_tweets, max_body_bytes, threshold for `create_app`.
    """
    import uvicorn

    from .annotate import load_pipeline

    app = create_app(load_pipeline(model, code=code), **limits)
    uvicorn.run(app, host=host, port=port, log_level="info")


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>spacy_adr: {{TITLE}}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; color: #222; }
textarea { width: 100%; font: inherit; padding: .5em; box-sizing: border-box; }
button { font: inherit; padding: .4em 1.2em; margin: .5em 0; }
#error { color: #a50000; font-weight: 600; }
table { border-collapse: collapse; margin: .3em 0 1.2em; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .2em .6em; text-align: left; }
.note { color: #666; font-size: .9em; }
#result h2 { font-size: 1em; margin: 1em 0 0; color: #555; }
</style></head>
<body>
<h1>Adverse drug reactions in tweets</h1>
<p class="note">Pipeline {{TITLE}} &middot; one tweet per line, {{LIMITS}} &middot;
the same records as JSON: <code>POST /annotate {"tweets": [...]}</code></p>
<form id="form">
<textarea id="tweets" name="tweets" rows="6" placeholder="one tweet per line"></textarea>
<button id="submit" type="submit">Find ADRs</button>
</form>
<div id="error" role="alert"></div>
<div id="result"></div>
<script>
const fmt = (x) => (x === null || x === undefined) ? "" : (typeof x === "number" && !Number.isInteger(x) ? x.toFixed(2) : String(x));
const cell = (x) => { const td = document.createElement("td"); td.textContent = fmt(x); return td; };
document.getElementById("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("error"), result = document.getElementById("result");
  error.textContent = ""; result.innerHTML = "";
  const tweets = document.getElementById("tweets").value.split("\\n").filter((t) => t.trim());
  const response = await fetch("render", {method: "POST", headers: {"Content-Type": "application/json"},
                                          body: JSON.stringify({tweets})});
  const data = await response.json();
  if (!response.ok) { error.textContent = data.detail || response.statusText; return; }
  result.innerHTML = data.html;
  const table = document.createElement("table");
  table.id = "spans";
  table.innerHTML = "<thead><tr><th>tweet</th><th>ADR probability</th><th>span</th><th>MedDRA term</th><th>code</th><th>link method</th><th>link score</th></tr></thead>";
  const body = document.createElement("tbody");
  data.records.forEach((record, i) => {
    const spans = data.spans[i].length ? data.spans[i] : [{}];
    spans.forEach((span) => {
      const tr = document.createElement("tr");
      [i + 1, record.adr_probability, span.text, span.meddra_term, span.meddra_code, span.link_method, span.link_score]
        .forEach((x) => tr.appendChild(cell(x)));
      body.appendChild(tr);
    });
  });
  table.appendChild(body);
  result.appendChild(table);
});
</script>
</body></html>
"""
