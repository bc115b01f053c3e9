"""spaCy's string and lexeme hash tables after memory zones: freed keys leave deleted cells
behind, so `compact_string_index` and `compact_lexeme_index` rebuild the tables from their live
keys (`spacy_adr.annotate.memory`)."""
import spacy

from spacy_adr.annotate.memory import MIN_CELLS, compact_lexeme_index, compact_string_index, lexeme_index


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


def test_memory_zones_leave_the_lexeme_table_growing():
    # As for the string table: if this stops, compact_lexeme_index can go.
    nlp = spacy.blank("en")
    annotate_in_zones(nlp, 40)
    assert lexeme_index(nlp.vocab).capacity > 16 * len(list(lexeme_index(nlp.vocab).items()))


def test_compact_lexeme_index_keeps_every_lexeme_and_bounds_the_table():
    nlp = spacy.blank("en")
    nlp.vocab["headache"].is_stop = True  # a lexeme attribute set by hand survives
    before = [(t.text, t.norm_, t.is_stop, t.like_num, t.lex_id) for t in nlp("a headache and 20 dry mouths")]
    kept = dict(lexeme_index(nlp.vocab).items())
    annotate_in_zones(nlp, 40)
    with nlp.memory_zone():
        assert not compact_lexeme_index(nlp.vocab), "never inside a memory zone"
    assert compact_lexeme_index(nlp.vocab)
    table = lexeme_index(nlp.vocab)
    assert table.capacity <= max(MIN_CELLS, 8 * len(kept)) and dict(table.items()) == kept
    assert not compact_lexeme_index(nlp.vocab), "a compact table is left alone"
    # The same lexemes (same addresses) and the same token attributes, in zones and outside.
    assert [(t.text, t.norm_, t.is_stop, t.like_num, t.lex_id) for t in nlp("a headache and 20 dry mouths")] == before
    with nlp.memory_zone():
        assert [t.is_stop for t in nlp("headache @user0_1")] == [True, False]
    annotate_in_zones(nlp, 2)
    assert "headache" in nlp.vocab and nlp.vocab["headache"].is_stop
