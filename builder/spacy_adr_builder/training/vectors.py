"""Russian static word vectors (navec) for a CNN tweet classifier: the second, cheap view of
a Russian tweet beside the transformer's.

navec (250k words x 300, trained on Russian news) ships inside the `natasha` package. The
vectors are keyed by `token.norm_` (`attr="NORM"`), which `adr_tweet_normalizer` writes
lower-cased with URLs, @users and emoji normalised, so training text and inference agree. The
result is a blank pipeline folder whose vocab carries the vectors; a config names it in
`[initialize] vectors`.
"""
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Set, Union

import numpy
from spacy.language import Language
from spacy.tokens import DocBin
from spacy.vectors import Vectors

from spacy_adr.pipeline.normalizer import TweetNormalizer
from spacy_adr.tokenizer import make_blank

NAVEC_FILE = "data/emb/navec_news_v1_1B_250K_300d_100q.tar"


def normalised_texts(lang: str, corpora: Sequence[Union[str, Path]]) -> Iterator[List[str]]:
    """The norms of every Doc of some `.spacy` corpora, one list of words per Doc.

    lang (str): Language of the corpora (its tweet tokenizer splits the texts).
    corpora (Sequence[Union[str, Path]]): Converted corpora.
    YIELDS (List[str]): The norms of one Doc.
    """
    nlp = make_blank(lang)
    normalizer = TweetNormalizer(nlp)
    for path in corpora:
        if not Path(path).exists():
            raise FileNotFoundError(f"{path}: no such corpus")
        for doc in DocBin().from_disk(path).get_docs(nlp.vocab):
            yield [token.norm_ for token in normalizer(nlp.make_doc(doc.text)) if not token.is_space]


def navec_path() -> Path:
    """The navec file inside the installed `natasha` package."""
    try:
        import natasha
    except ImportError:
        raise ImportError("navec vectors come with natasha: pip install natasha==1.6.0") from None
    path = Path(natasha.__file__).parent / NAVEC_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: this natasha release does not ship navec vectors")
    return path


def navec_vectors(lang: str = "xx", keep_words: Optional[Set[str]] = None) -> Language:
    """A blank pipeline whose vocab holds the navec vectors.

    lang (str): Language of the pipeline.
    keep_words (Optional[Set[str]]): Keep only these words (e.g. those of the corpora), which
        shrinks the 300 MB table; None keeps all 250k.
    RETURNS (Language): The pipeline.
    """
    from navec import Navec

    navec = Navec.load(navec_path())
    words = [w for w in navec.vocab.words if w not in ("<unk>", "<pad>")]
    if keep_words is not None:
        words = [w for w in words if w in keep_words]
    matrix = numpy.vstack([navec[w] for w in words]).astype("float32") if words else numpy.zeros((0, 300), "f")
    nlp = make_blank(lang)
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=matrix, keys=words, attr="NORM", name=f"navec_{lang}")
    return nlp
