"""Nearest-concept search: which MedDRA names lie closest to a mention vector.

`ConceptIndex` holds one unit-length vector per LLT (row i is the i-th code given to it) and
answers a batch of unit-length query vectors with the k nearest rows by cosine similarity,
which for unit vectors orders them exactly as Euclidean distance does
(`distance = sqrt(2 - 2 * cosine)`).

The matrix is kept in bfloat16: 79,507 LLTs x 384 dimensions take 61 MB instead of 122 MB,
and on CPUs with AVX512-BF16 a bf16 matrix product is faster than fp32 (and much faster than
fp16, which CPUs emulate). bf16 keeps 8 mantissa bits, so near-ties can swap: the search takes
`k + RESCORE_EXTRA` candidates from the bf16 product and re-scores them in fp32 against the
fp32 query before picking the final k.
"""
from pathlib import Path
from typing import Callable, List, Sequence, Tuple, Union

import numpy
import torch

# Extra candidates re-scored in fp32 to undo the rounding of the bf16 product.
RESCORE_EXTRA = 16
VECTORS_FILE = "concept_vectors.safetensors"

Encoder = Callable[[List[str]], numpy.ndarray]


class ConceptIndex:
    """Unit-length concept vectors searchable by cosine similarity."""

    def __init__(self, vectors: Union[numpy.ndarray, torch.Tensor], codes: Sequence[str]) -> None:
        """Create an index.

        vectors (Union[numpy.ndarray, torch.Tensor]): One row per code; normalised here.
        codes (Sequence[str]): The code of each row (codes may repeat).
        """
        vectors = torch.as_tensor(vectors).float()
        if vectors.ndim != 2 or vectors.shape[0] != len(codes):
            raise ValueError(f"ConceptIndex: {tuple(vectors.shape)} vectors for {len(codes)} codes")
        vectors = torch.nn.functional.normalize(vectors, dim=1)
        self.vectors: torch.Tensor = vectors.to(torch.bfloat16).contiguous()
        self.codes: List[str] = list(codes)

    @classmethod
    def build(
        cls,
        names: Sequence[str],
        codes: Sequence[str],
        encode: Encoder,
        *,
        batch_size: int = 512,
        progress: bool = False,
    ) -> "ConceptIndex":
        """Embed concept names and index them.

        names (Sequence[str]): The name of each concept.
        codes (Sequence[str]): The code of each concept, aligned with `names`.
        encode (Callable[[List[str]], numpy.ndarray]): Texts -> one vector a text.
        batch_size (int): Names encoded per call.
        progress (bool): Show a progress bar.
        RETURNS (ConceptIndex): The index.
        """
        if len(names) != len(codes):
            raise ValueError(f"ConceptIndex.build: {len(names)} names for {len(codes)} codes")
        starts = range(0, len(names), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="Embedding concept names", unit="batch")
        chunks = [numpy.asarray(encode(list(names[i : i + batch_size])), dtype="float32") for i in starts]
        width = chunks[0].shape[1] if chunks else 0
        vectors = numpy.concatenate(chunks) if chunks else numpy.zeros((0, width), dtype="float32")
        return cls(vectors, codes)

    def extend(self, vectors: Union[numpy.ndarray, torch.Tensor], codes: Sequence[str]) -> None:
        """Append rows, e.g. vectors of labelled training mentions as extra names of their codes.

        vectors (Union[numpy.ndarray, torch.Tensor]): One row per code; normalised here.
        codes (Sequence[str]): The code of each row.
        """
        extra = ConceptIndex(vectors, codes)
        if len(extra) and extra.width != self.width:
            raise ValueError(f"ConceptIndex.extend: vectors of width {extra.width}, index of width {self.width}")
        self.vectors = torch.cat([self.vectors, extra.vectors]).contiguous()
        self.codes += extra.codes

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def width(self) -> int:
        """RETURNS (int): The vector width."""
        return int(self.vectors.shape[1])

    @property
    def nbytes(self) -> int:
        """RETURNS (int): Memory taken by the vectors."""
        return self.vectors.element_size() * self.vectors.nelement()

    def search(
        self, queries: Union[numpy.ndarray, torch.Tensor], k: int = 1
    ) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """The k most similar concepts of each query.

        queries (Union[numpy.ndarray, torch.Tensor]): (n, width) query vectors; normalised here.
        k (int): Number of neighbours.
        RETURNS (Tuple[numpy.ndarray, numpy.ndarray]): Cosine similarities (n, k), best first,
            and row indices (n, k) into `codes`.
        """
        queries = torch.nn.functional.normalize(torch.as_tensor(queries).float(), dim=1)
        if queries.shape[1] != self.width:
            raise ValueError(f"ConceptIndex: queries of width {queries.shape[1]}, index of width {self.width}")
        k = min(k, len(self))
        n_rough = min(k + RESCORE_EXTRA, len(self))
        with torch.no_grad():
            rough = queries.to(torch.bfloat16) @ self.vectors.T
            rows = rough.topk(n_rough, dim=1).indices
            exact = torch.einsum("nd,nkd->nk", queries, self.vectors[rows].float())
            scores, order = exact.topk(k, dim=1)
            rows = torch.gather(rows, 1, order)
        return scores.numpy(), rows.numpy()

    def to_disk(self, path: Union[str, Path]) -> None:
        """Write the vectors (bf16, safetensors) and their codes to a folder.

        path (Union[str, Path]): The folder; created if needed.
        """
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file({"vectors": self.vectors}, str(path / VECTORS_FILE))
        (path / "codes.txt").write_text("\n".join(self.codes) + "\n", encoding="utf8")

    @classmethod
    def from_disk(cls, path: Union[str, Path]) -> "ConceptIndex":
        """Load an index written by `to_disk`.

        path (Union[str, Path]): The folder.
        RETURNS (ConceptIndex): The index.
        """
        from safetensors.torch import load_file

        path = Path(path)
        vectors = load_file(str(path / VECTORS_FILE))["vectors"]
        codes = (path / "codes.txt").read_text(encoding="utf8").split()
        if vectors.shape[0] != len(codes):
            raise ValueError(f"{path}: {vectors.shape[0]} vectors for {len(codes)} codes")
        index = cls.__new__(cls)
        index.vectors = vectors.to(torch.bfloat16).contiguous()
        index.codes = codes
        return index


def cosine_to_distance(cosine: Union[float, numpy.ndarray]) -> Union[float, numpy.ndarray]:
    """Euclidean distance between unit vectors of a given cosine similarity.

    cosine (Union[float, numpy.ndarray]): Cosine similarities.
    RETURNS (Union[float, numpy.ndarray]): `sqrt(2 - 2 * cosine)`, in [0, 2].
    """
    return numpy.sqrt(numpy.clip(2.0 - 2.0 * numpy.asarray(cosine, dtype="float64"), 0.0, 4.0))
