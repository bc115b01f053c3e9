"""Keeping the memory of a long run flat: spaCy's string and lexeme indexes after memory zones.

`nlp.memory_zone()` frees the strings and lexemes a batch adds, but the hash tables that index
them (preshed `PreshMap`s) only mark a freed key as deleted: its cell stays taken, and when
taken cells reach 60 % of a table it doubles, however few keys are still live. Each zone thus
leaves its keys behind as deleted cells, and the tables grow with the dump (16 bytes a cell)
while the string store keeps its size: on generated tweets about 1.7 new cells a tweet each,
so that the lexeme table alone reached 2**21 cells (32 MB, 48 MB while it doubled) near
760,000 tweets. `compact_string_index` rebuilds the string store's table (`StringStore._map`,
a public attribute) from its live keys when deleted cells make up most of it;
`compact_lexeme_index` does the same for the lexeme table (`Vocab._by_orth`).
"""
import gc
from typing import Dict, Optional

import srsly
from preshed.maps import PreshMap
from spacy.attrs import NORM
from spacy.strings import StringStore
from spacy.vocab import Vocab

# A table of up to this many cells (1 MB) is left alone.
MIN_CELLS = 1 << 16
# Rebuilt when it has this many times as many cells as live keys (a table holding only live
# keys has 1.7 to 3.4 times as many cells as keys).
MAX_CELLS_PER_KEY = 8


def compact_string_index(strings: StringStore) -> bool:
    """Rebuild the hash table of a string store from its live keys when it is mostly deleted
    cells. Call it outside memory zones: it keeps only the keys of the store's own memory.

    strings (StringStore): The store (`nlp.vocab.strings`).
    RETURNS (bool): Whether the table was rebuilt.
    """
    table = getattr(strings, "_map", None)
    if not isinstance(table, PreshMap) or table.capacity <= max(MIN_CELLS, MAX_CELLS_PER_KEY * len(strings)):
        return False
    # Room for twice the live keys before the new table doubles.
    rebuilt = PreshMap(initial_size=4 * len(strings) + 8)
    for key, value in table.items():
        rebuilt[key] = value
    strings._map = rebuilt
    return True


# Live lexemes found at the last count, per lexeme table (by id): the table is counted again
# only when it has grown past MAX_CELLS_PER_KEY times that, since counting walks every cell.
_live_lexemes: Dict[int, int] = {}


def lexeme_index(vocab: Vocab) -> Optional[PreshMap]:
    """The vocab's lexeme table (`Vocab._by_orth`, a C attribute that Python cannot name; the
    garbage collector still lists it among the vocab's references).

    vocab (Vocab): The vocab.
    RETURNS (Optional[PreshMap]): The table, None if it cannot be told apart.
    """
    tables = [o for o in gc.get_referents(vocab) if isinstance(o, PreshMap)]
    return tables[0] if len(tables) == 1 else None


def compact_lexeme_index(vocab: Vocab) -> bool:
    """Rebuild a vocab's lexeme table from its live lexemes when it is mostly deleted cells.
    Call it outside memory zones: it keeps only the lexemes of the vocab's own memory, the same
    objects at the same addresses, so Docs, the tokenizer's cache and every lexeme attribute
    are untouched. `len(vocab)`, which counts lexemes added rather than live ones, restarts
    from 0.

    vocab (Vocab): The vocab (`nlp.vocab`).
    RETURNS (bool): Whether the table was rebuilt.
    """
    table = lexeme_index(vocab)
    if table is None or vocab.in_memory_zone:
        return False
    if table.capacity <= max(MIN_CELLS, MAX_CELLS_PER_KEY * _live_lexemes.get(id(table), 0)):
        return False
    live = list(table.items())
    if table.capacity <= MAX_CELLS_PER_KEY * len(live):
        _live_lexemes[id(table)] = len(live)
        return False
    # Vocab.from_bytes gives the vocab a new, empty lexeme table (and nothing else when every
    # part is excluded); it re-wraps the NORM getter when the vocab has a lexeme_norm table,
    # which must not stack up over many rebuilds.
    norm_getter = vocab.lex_attr_getters.get(NORM)
    vocab.from_bytes(srsly.msgpack_dumps({}), exclude=["strings", "vectors", "lookups"])
    if norm_getter is not None:
        vocab.lex_attr_getters[NORM] = norm_getter
    rebuilt = lexeme_index(vocab)
    for key, address in live:
        rebuilt[key] = address
    _live_lexemes.pop(id(table), None)
    _live_lexemes[id(rebuilt)] = len(live)
    return True
