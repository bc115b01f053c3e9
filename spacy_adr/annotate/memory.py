"""Keeping the memory of a long run flat: spaCy's string index after memory zones.

`nlp.memory_zone()` frees the strings and lexemes a batch adds, but the hash tables that index
them (preshed `PreshMap`s) only mark a freed key as deleted: its cell stays taken, and when
taken cells reach 60 % of a table it doubles, however few keys are still live. Each zone thus
leaves its keys behind as deleted cells, and the tables grow with the dump (16 bytes a cell)
while the string store keeps its size. `compact_string_index` rebuilds the string store's table
(`StringStore._map`, a public attribute) from its live keys when deleted cells make up most of
it. The lexeme table (`Vocab._by_orth`) cannot be reached from Python and keeps growing, at
about half the rate the two grew at together (on generated tweets about 1.7 new cells a tweet
each, so the lexeme table reaches 2**21 cells, 32 MB, near 760,000 tweets).
"""
from spacy.strings import StringStore

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
    from preshed.maps import PreshMap

    table = getattr(strings, "_map", None)
    if not isinstance(table, PreshMap) or table.capacity <= max(MIN_CELLS, MAX_CELLS_PER_KEY * len(strings)):
        return False
    # Room for twice the live keys before the new table doubles.
    rebuilt = PreshMap(initial_size=4 * len(strings) + 8)
    for key, value in table.items():
        rebuilt[key] = value
    strings._map = rebuilt
    return True
