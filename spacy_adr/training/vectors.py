"""Static word vectors for the CNN tweet classifier (the paper's FastText + CNN baseline).

- Russian: navec (250k words x 300, news corpus) as shipped inside the `natasha` package.
- English: floret vectors trained here on the tweet and review corpora (no download).

Both are keyed by `token.norm_` (`attr="NORM"`), which `adr_tweet_normalizer` writes
lower-cased with URLs, @users and emoji normalised, so training text and inference agree.
The result is a blank pipeline folder whose vocab carries the vectors; a config names it in
`[initialize] vectors`.
"""
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Set, Union

import numpy
from spacy.language import Language
from spacy.tokens import DocBin
from spacy.vectors import Vectors
from wasabi import msg

from ..pipeline.normalizer import TweetNormalizer
from ..tokenizer import make_blank

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
        raise ImportError("navec vectors come with natasha: pip install 'spacy_adr[vectors]'") from None
    path = Path(natasha.__file__).parent / NAVEC_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: this natasha release does not ship navec vectors")
    return path


def navec_vectors(lang: str = "ru", keep_words: Optional[Set[str]] = None) -> Language:
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


def floret_vectors(
    lang: str, sentences: Iterable[List[str]], *, dim: int = 100, epochs: int = 10,
    buckets: int = 50000, min_count: int = 2, threads: int = 2,
) -> Language:
    """Train floret (fastText with hashed subwords) vectors and put them into a blank pipeline.

    lang (str): Language of the pipeline.
    sentences (Iterable[List[str]]): Training text, one list of norms per document.
    dim (int): Vector width.
    epochs (int): Training epochs.
    buckets (int): Rows of the hashed table (floret mode stores only these).
    min_count (int): Minimum count of a word.
    threads (int): Training threads (with more than one, runs differ slightly: floret's
        hogwild updates are not deterministic).
    RETURNS (Language): The pipeline.
    """
    import floret
    from spacy.training.initialize import convert_vectors

    with tempfile.TemporaryDirectory() as tmp:
        text_path = Path(tmp) / "text.txt"
        n_lines = 0
        with text_path.open("w", encoding="utf-8") as file:
            for words in sentences:
                if words:
                    file.write(" ".join(w.replace(" ", "_") for w in words) + "\n")
                    n_lines += 1
        if not n_lines:
            raise ValueError("floret_vectors: no training text")
        msg.info(f"Training floret vectors ({dim}d, {buckets} buckets) on {n_lines} documents")
        model = floret.train_unsupervised(
            str(text_path), model="cbow", mode="floret", dim=dim, epoch=epochs, bucket=buckets,
            minCount=min_count, minn=3, maxn=5, hashCount=2, thread=threads, verbose=0,
        )
        vectors_path = Path(tmp) / "vectors.floret"
        model.save_floret_vectors(str(vectors_path))
        nlp = make_blank(lang)
        convert_vectors(nlp, vectors_path, truncate=0, prune=-1, name=f"floret_{lang}", mode="floret", attr="NORM")
    return nlp
