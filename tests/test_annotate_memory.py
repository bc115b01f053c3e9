"""The string store's hash table after memory zones: freed keys leave deleted cells behind, so
`compact_string_index` rebuilds the table from its live keys (`spacy_adr.annotate.memory`)."""
import spacy

from spacy_adr.annotate.memory import MIN_CELLS, compact_string_index


def annotate_in_zones(nlp, n_zones: int, per_zone: int = 2000) -> None:
    for zone in range(n_zones):
        with nlp.memory_zone():
            list(nlp.pipe([f"@user{zone}_{i} #tag{zone}_{i}" for i in range(per_zone)]))


def test_memory_zones_leave_the_string_table_growing():
    # The behaviour the compaction is for (preshed's deleted cells); if spaCy or preshed ever
    # stop it, this test tells that the compaction can go.
    nlp = spacy.blank("en")
    annotate_in_zones(nlp, 40)
    assert nlp.vocab.strings._map.capacity > 16 * len(nlp.vocab.strings)


def test_compact_string_index_keeps_every_string_and_bounds_the_table():
    nlp = spacy.blank("en")
    nlp("a headache and dry mouth")
    annotate_in_zones(nlp, 40)
    strings = nlp.vocab.strings
    kept = {text: strings[text] for text in strings}
    assert compact_string_index(strings)
    assert strings._map.capacity <= max(MIN_CELLS, 8 * len(strings))
    assert {text: strings[text] for text in kept} == kept and all(strings[h] == t for t, h in kept.items())
    assert "headache" in strings and "@user3_5" not in strings
    assert not compact_string_index(strings), "a compact table is left alone"
    # Annotating goes on as before, in zones and outside them.
    annotate_in_zones(nlp, 2)
    assert [t.text for t in nlp("dry mouth again")] == ["dry", "mouth", "again"] and "again" in strings
