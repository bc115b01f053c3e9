"""A tokenizer for tweets: spaCy's rules plus splits that tweets need.

Tweets glue words together with HTML entities and punctuation ("mouth&amp;fatigue",
"sleep?all", "-dry mouth"). spaCy's default rules leave those as one token, so gold ADR spans
cut through tokens and NER can never predict them exactly. The extra rules split them off;
everything else (URLs, emoticons, abbreviations) stays as spaCy tokenizes it.
"""
import re
from typing import Callable

import spacy
from spacy.language import Language
from spacy.lang.tokenizer_exceptions import URL_PATTERN
from spacy.tokenizer import Tokenizer
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


@spacy.registry.tokenizers("spacy-adr.TweetTokenizer.v1")
def create_tweet_tokenizer() -> Callable[[Language], Tokenizer]:
    """spaCy's tokenizer for the language, with extra rules for tweets.

    RETURNS (Callable[[Language], Tokenizer]): Builds the tokenizer for an nlp object.
    """

    def make_tokenizer(nlp: Language) -> Tokenizer:
        defaults = nlp.Defaults
        prefixes = EXTRA_PREFIXES + list(defaults.prefixes or [])
        suffixes = EXTRA_SUFFIXES + list(defaults.suffixes or [])
        infixes = EXTRA_INFIXES + list(defaults.infixes or [])
        return Tokenizer(
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
