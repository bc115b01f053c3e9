"""`adr_tweet_normalizer`: tweet-specific token norms (URLs, @mentions, emoji, HTML entities).

The component writes `token.norm_` only; `doc.text` and every character offset stay as they
were, so entity offsets remain offsets into the user's tweet. Downstream components that want
the normalised forms (the norm-aware transformer input, `NORM` features of a tok2vec) read
`token.norm_`.

What is replaced (one regex pass over `doc.text`, then a dict lookup per match):

| in the text | norm |
|---|---|
| `http(s)://...`, `www....`, `t.co/...`, `bit.ly/...`, `pic.twitter.com/...` | `"link"` (config `url_norm`) |
| `@someone` | `"@username"` (config `user_norm`) |
| `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` `&#39;` `&#x27;` | `&` `<` `>` `"` `'` `'` `'` |
| an emoji of `DEFAULT_EMOJI` (+ config `emoji`) | its word, e.g. 💊 → `"pill"` |

Emoji are matched with their trailing variation selector, skin tone and zero-width-joiner
sequence (❤️, 👍🏽, 🤦‍♀️).

spaCy's English tokenizer splits `&amp;` into `&`, `amp`, `;` and `❤️` into `❤` and U+FE0F.
A token's norm cannot be empty (spaCy falls back to the lexical norm), so with
`merge_split_tokens = true` (the default) the component merges the tokens of such a split
match into one token (`&amp;` with norm `&`), as a tokenizer special case would; the text is
unchanged. It never merges across an entity boundary or when the doc carries span groups
(spaCy's retokenizer does not move `doc.spans`); then, and with `merge_split_tokens = false`,
the first token gets the replacement and the others keep their lexical norms.

With `lowercase = true` (the default) the norms of all other tokens are left as the language
set them (lowercased, plus the language's norm exceptions) and replacements are lowercased;
with `lowercase = false` every token's norm is its text (for cased encoders).
"""
import html
import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

import srsly
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import ensure_path

# One word each, so that a norm stays a single word for the encoders. Keys are written without
# variation selectors / skin tones: those are matched as optional suffixes.
DEFAULT_EMOJI: Dict[str, str] = {
    "💊": "pill",
    "💉": "injection",
    "🩸": "blood",
    "🩹": "bandage",
    "🩺": "doctor",
    "🏥": "hospital",
    "🤒": "fever",
    "🤢": "nauseated",
    "🤮": "vomiting",
    "🤧": "sneezing",
    "😷": "sick",
    "🤕": "headache",
    "😵": "dizzy",
    "😵\u200d💫": "dizzy",
    "💫": "dizzy",
    "😴": "sleepy",
    "💤": "sleep",
    "🥱": "tired",
    "😪": "sleepy",
    "😫": "exhausted",
    "😩": "weary",
    "🥵": "hot",
    "🥶": "cold",
    "😰": "anxious",
    "😨": "scared",
    "😱": "scared",
    "😭": "crying",
    "😢": "sad",
    "😞": "sad",
    "😔": "sad",
    "💩": "poop",
    "🚽": "toilet",
    "❤": "love",
    "💔": "heartbroken",
    "😂": "laughing",
    "🤣": "laughing",
}

# Trailing parts of one emoji "grapheme": variation selector-16, skin tones, ZWJ + next symbol.
_EMOJI_TAIL = "(?:\ufe0f|[\U0001F3FB-\U0001F3FF]|\u200d[^\\s\u200d][\ufe0f]?)*"
_URL = (
    r"(?:https?://|www\.|\b(?:t\.co|bit\.ly|pic\.twitter\.com|goo\.gl|ow\.ly|tinyurl\.com)/)"
    r"(?:\S*[^\s.,;:!?)\]}\"'…»”’])?"
)
_MENTION = r"(?<![\w@])@\w+"
_ENTITY = r"&(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-f]{1,6});"

# (start_char, end_char, replacement, inline): inline replacements (HTML entities) join the
# neighbouring characters of their token; the others become words of their own.
_Match = Tuple[int, int, str, bool]


@Language.factory(
    "adr_tweet_normalizer",
    assigns=["token.norm"],
    default_config={
        "lowercase": True,
        "merge_split_tokens": True,
        "url_norm": "link",
        "user_norm": "@username",
        "emoji": {},
    },
)
def make_tweet_normalizer(
    nlp: Language,
    name: str,
    *,
    lowercase: bool,
    merge_split_tokens: bool,
    url_norm: str,
    user_norm: str,
    emoji: Dict[str, str],
) -> "TweetNormalizer":
    """Create the `adr_tweet_normalizer` component.

    lowercase (bool): Lowercase the norms (else every norm keeps the case of the text).
    merge_split_tokens (bool): Merge tokens of an HTML entity or emoji that the tokenizer split.
    url_norm (str): Norm of a URL token.
    user_norm (str): Norm of an @mention token.
    emoji (Dict[str, str]): Emoji → word, added to (and overriding) `DEFAULT_EMOJI`.
    RETURNS (TweetNormalizer): The component.
    """
    return TweetNormalizer(
        nlp,
        name,
        lowercase=lowercase,
        merge_split_tokens=merge_split_tokens,
        url_norm=url_norm,
        user_norm=user_norm,
        emoji=emoji,
    )


class TweetNormalizer:
    """Write tweet-specific `token.norm_` values; never changes `doc.text`."""

    def __init__(
        self,
        nlp: Optional[Language] = None,
        name: str = "adr_tweet_normalizer",
        *,
        lowercase: bool = True,
        merge_split_tokens: bool = True,
        url_norm: str = "link",
        user_norm: str = "@username",
        emoji: Optional[Dict[str, str]] = None,
    ) -> None:
        """Initialize the normalizer.

        nlp (Optional[Language]): The pipeline (unused; kept for the factory signature).
        name (str): The component name.
        lowercase (bool): Lowercase the norms.
        merge_split_tokens (bool): Merge tokens of a split HTML entity or emoji.
        url_norm (str): Norm of a URL.
        user_norm (str): Norm of an @mention.
        emoji (Optional[Dict[str, str]]): Extra / overriding emoji → word entries.
        """
        self.name = name
        self.cfg = {
            "lowercase": lowercase,
            "merge_split_tokens": merge_split_tokens,
            "url_norm": url_norm,
            "user_norm": user_norm,
            "emoji": dict(emoji or {}),
        }
        self._build()

    def _build(self) -> None:
        table = dict(DEFAULT_EMOJI)
        for key, word in self.cfg["emoji"].items():
            table[_strip_emoji_modifiers(key)] = word
        self.emoji_table = {k: v for k, v in table.items() if k and v}
        # Longest first so that ZWJ sequences of the table win over their first symbol.
        keys = sorted(self.emoji_table, key=len, reverse=True)
        emoji_re = "(?P<emoji>(?:" + "|".join(re.escape(k) for k in keys) + ")" + _EMOJI_TAIL + ")"
        parts = [f"(?P<url>{_URL})", f"(?P<user>{_MENTION})", f"(?P<entity>{_ENTITY})"]
        if keys:
            parts.append(emoji_re)
        self._regex = re.compile("|".join(parts), re.IGNORECASE)

    def __call__(self, doc: Doc) -> Doc:
        """Set `token.norm_` of the tokens of `doc`.

        doc (Doc): The document.
        RETURNS (Doc): The same document, with norms set (and split matches merged).
        """
        lowercase = self.cfg["lowercase"]
        if not lowercase:
            for token in doc:
                token.norm_ = token.text
        matches = self._find(doc.text)
        if not matches:
            return doc
        groups = self._group(doc, matches)
        if self.cfg["merge_split_tokens"] and any(end - start > 1 for start, end, _ in groups):
            if self._merge(doc, groups):
                groups = self._group(doc, matches)
        text = doc.text
        for start, end, group_matches in groups:
            for token in doc[start:end]:
                norm = _token_norm(text, token.idx, token.idx + len(token), group_matches, lowercase)
                if norm:
                    token.norm_ = norm
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        """Normalise a stream of documents.

        stream (Iterable[Doc]): The documents.
        batch_size (int): Unused; the component works doc by doc.
        YIELDS (Doc): The documents, normalised.
        """
        for doc in stream:
            yield self(doc)

    def _find(self, text: str) -> List[_Match]:
        matches: List[_Match] = []
        for m in self._regex.finditer(text):
            kind = m.lastgroup
            if kind == "url":
                matches.append((m.start(), m.end(), self.cfg["url_norm"], False))
            elif kind == "user":
                matches.append((m.start(), m.end(), self.cfg["user_norm"], False))
            elif kind == "entity":
                matches.append((m.start(), m.end(), html.unescape(m.group()), True))
            else:
                word = self.emoji_table.get(_strip_emoji_modifiers(m.group()))
                if word is None:  # a ZWJ sequence whose first symbol is in the table
                    word = self.emoji_table[_first_key(m.group(), self.emoji_table)]
                matches.append((m.start(), m.end(), word, False))
        return matches

    @staticmethod
    def _group(doc: Doc, matches: List[_Match]) -> List[Tuple[int, int, List[_Match]]]:
        """Token ranges covering the matches; matches sharing a token share a range."""
        groups: List[Tuple[int, int, List[_Match]]] = []
        for match in matches:
            span = doc.char_span(match[0], match[1], alignment_mode="expand")
            if span is None or len(span) == 0:
                continue
            if groups and span.start < groups[-1][1]:
                start, end, group_matches = groups[-1]
                groups[-1] = (start, max(end, span.end), group_matches + [match])
            else:
                groups.append((span.start, span.end, [match]))
        return groups

    @staticmethod
    def _merge(doc: Doc, groups: List[Tuple[int, int, List[_Match]]]) -> bool:
        """Merge multi-token groups where that is safe; return whether anything merged."""
        if doc.spans and any(len(group) for group in doc.spans.values()):
            return False
        merged = False
        with doc.retokenize() as retokenizer:
            for start, end, _ in groups:
                if end - start < 2 or _crosses_entity_boundary(doc, start, end):
                    continue
                retokenizer.merge(doc[start:end])
                merged = True
        return merged

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        """Save the settings to a directory.

        path (Union[str, Path]): The directory.
        exclude (Iterable[str]): Unused.
        """
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / "cfg", self.cfg)

    def from_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()
    ) -> "TweetNormalizer":
        """Load the settings from a directory written by `to_disk`.

        path (Union[str, Path]): The directory.
        exclude (Iterable[str]): Unused.
        RETURNS (TweetNormalizer): The component.
        """
        cfg_path = ensure_path(path) / "cfg"
        if cfg_path.exists():
            self.cfg.update(srsly.read_json(cfg_path))
            self._build()
        return self

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        """Serialize the settings.

        exclude (Iterable[str]): Unused.
        RETURNS (bytes): The serialized settings.
        """
        return srsly.msgpack_dumps({"cfg": self.cfg})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = tuple()) -> "TweetNormalizer":
        """Load the settings from bytes written by `to_bytes`.

        data (bytes): The serialized settings.
        exclude (Iterable[str]): Unused.
        RETURNS (TweetNormalizer): The component.
        """
        self.cfg.update(srsly.msgpack_loads(data)["cfg"])
        self._build()
        return self


def _strip_emoji_modifiers(text: str) -> str:
    return re.sub("[\ufe0f\U0001F3FB-\U0001F3FF]", "", text)


def _first_key(text: str, table: Dict[str, str]) -> str:
    for key in sorted(table, key=len, reverse=True):
        if text.startswith(key):
            return key
    raise KeyError(text)


def _crosses_entity_boundary(doc: Doc, start: int, end: int) -> bool:
    inside = doc[start].ent_iob_ in ("B", "I")
    for token in doc[start + 1 : end]:
        if inside != (token.ent_iob_ == "I") or token.ent_iob_ == "B":
            return True
    return False


def _token_norm(text: str, start: int, end: int, matches: List[_Match], lowercase: bool) -> str:
    """The norm of the token text[start:end]: its characters with the matches replaced.

    A match's replacement goes to the token holding its first character; the characters of a
    match inside later tokens contribute nothing.
    """
    pieces: List[str] = []
    pos = start
    for m_start, m_end, replacement, inline in matches:
        if m_end <= start or m_start >= end:
            continue
        if m_start > pos:
            pieces.append(text[pos:m_start].lower() if lowercase else text[pos:m_start])
        if m_start >= start:
            pieces.append(replacement if inline else f" {replacement} ")
        pos = max(pos, min(m_end, end))
    if pos < end:
        pieces.append(text[pos:end].lower() if lowercase else text[pos:end])
    norm = " ".join("".join(pieces).split())
    return norm.lower() if lowercase else norm
