"""A tokenizer for tweets: spaCy's rules plus splits that tweets need.

Tweets glue words together with HTML entities and punctuation ("mouth&amp;fatigue",
"sleep?all", "-dry mouth"). spaCy's default rules leave those as one token, so gold ADR spans
cut through tokens and NER can never predict them exactly. The extra rules split them off;
everything else (URLs, emoticons, abbreviations) stays as spaCy tokenizes it.

Lone surrogates: `json.loads` turns a broken emoji escape (`"pain \\ud83d here"`) into a str
holding U+D83D, which UTF-8 cannot encode. spaCy interns every token string as UTF-8, so its
tokenizer, and with it `nlp(text)` and `nlp.pipe`, raised a UnicodeEncodeError on such a
text. The tweet tokenizer replaces each surrogate code point (U+D800-U+DFFF) by U+FFFD, one
for one, before tokenizing: `doc.text` has the same length as the text given and differs
only at those code points, so every character offset (tokens, entities, records) is an
offset into the user's text. A spaCy Doc cannot hold the surrogate itself. The same rule is
`spacy_adr.annotate.cleaning.clean_text`'s for surrogates; NUL and noncharacters, which
spaCy can hold, are left for `annotate` to clean.
"""
import re
from typing import Callable

import spacy
from spacy.language import Language
from spacy.lang.tokenizer_exceptions import URL_PATTERN
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

# An HTML entity as Twitter escapes them: kept whole, as its own token.
HTML_ENTITY = r"&(?:amp|lt|gt|quot|apos|#\d+);"
EXTRA_PREFIXES = [HTML_ENTITY, r"-+(?=[^\W\d_])"]
EXTRA_SUFFIXES = [HTML_ENTITY, r"=+"]
EXTRA_INFIXES = [
    HTML_ENTITY,
    # "sleep?all", "mi*passes", "sleep=good": these never occur inside a word.
    r"(?<=[^\W\d_])[?!*=]+(?=[^\W\d_]|[#@])",
    # "angry.please", "though.broken": a full stop between words; two letters before it keep
    # abbreviations such as "e.g." and "u.s." whole.
    r"(?<=[^\W\d_]{2})\.(?=[^\W\d_])",
]

# spaCy's URL rule takes any "word.word" for a domain ("though.broken"); in tweets that is
# mostly a missing space. Here a URL also needs a scheme, "www." or a common top-level domain.
# (A compiled pattern, not a wrapper function: the tokenizer serializes the regex itself.)
URL_EVIDENCE = (
    r"(?=www\.|\S*://|\S*\.(?:com|org|net|gov|edu|co|ly|io|me|tv|info|uk|ru|fr|de|ca|au|us)"
    r"(?:[/:?#]|$))"
)
TWEET_URL_MATCH = re.compile("(?iu)" + URL_EVIDENCE + URL_PATTERN).match


# Every surrogate code point: in a Python str any of them is "lone" to UTF-8, even a high one
# followed by a low one (json.loads joins those into one code point; other sources may not).
SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


class TweetTokenizer(Tokenizer):
    """spaCy's Tokenizer, safe on texts with surrogate code points (see the module docstring).

    A subclass rather than a wrapper function: `nlp.tokenizer` stays a Tokenizer, so its
    serialization, `explain`, special cases and pickling (`__reduce__` rebuilds
    `self.__class__`, e.g. for `nlp.pipe(n_process=2)`) are spaCy's own.
    """

    def __call__(self, string: str) -> Doc:
        """Tokenize a text, replacing surrogate code points by U+FFFD one for one.

        string (str): The text.
        RETURNS (Doc): The Doc; `doc.text` is `string` except at surrogates.
        """
        # A search first: the text is copied only in the rare case that needs it.
        if SURROGATE.search(string) is not None:
            string = SURROGATE.sub(REPLACEMENT, string)
        return super().__call__(string)


@spacy.registry.tokenizers("spacy-adr.TweetTokenizer.v1")
def create_tweet_tokenizer() -> Callable[[Language], Tokenizer]:
    """spaCy's tokenizer for the language, with extra rules for tweets, safe on lone surrogates.

    RETURNS (Callable[[Language], Tokenizer]): Builds the tokenizer for an nlp object.
    """

    def make_tokenizer(nlp: Language) -> TweetTokenizer:
        defaults = nlp.Defaults
        prefixes = EXTRA_PREFIXES + list(defaults.prefixes or [])
        suffixes = EXTRA_SUFFIXES + list(defaults.suffixes or [])
        infixes = EXTRA_INFIXES + list(defaults.infixes or [])
        return TweetTokenizer(
            nlp.vocab,
            rules=defaults.tokenizer_exceptions,
            prefix_search=compile_prefix_regex(prefixes).search,
            suffix_search=compile_suffix_regex(suffixes).search,
            infix_finditer=compile_infix_regex(infixes).finditer,
            token_match=defaults.token_match,
            url_match=TWEET_URL_MATCH,
        )

    return make_tokenizer


def make_blank(lang: str) -> Language:
    """A blank pipeline for `lang` with the tweet tokenizer: what every reader tokenizes with.

    lang (str): Language code, e.g. "en" or "ru".
    RETURNS (Language): The blank pipeline.
    """
    return spacy.blank(lang, config={"nlp": {"tokenizer": {"@tokenizers": "spacy-adr.TweetTokenizer.v1"}}})
