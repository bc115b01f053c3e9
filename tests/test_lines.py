import pytest

from spacy_adr.lines import bare_cr_pieces, numbered_lines, utf16_without_bom
from spacy_adr.errors import InputError


def test_lines_split_on_newline_only_and_drop_bom_and_crlf(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_bytes("\ufeffid\ttext\r\n1\tsee\u2028this\r\n2\tlast".encode("utf-8"))
    assert list(numbered_lines(path)) == [(1, "id\ttext"), (2, "1\tsee\u2028this"), (3, "2\tlast")]


def test_undecodable_line_names_file_line_and_encoding(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"fine\nm\xe9ni\xe8re\n")
    with pytest.raises(InputError, match="not UTF-8") as err:
        list(numbered_lines(path))
    assert (err.value.path, err.value.line) == (str(path), 2)
    assert list(numbered_lines(path, encoding="latin-1"))[1] == (2, "ménière")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_named(tmp_path, encoding):
    path = tmp_path / "a.tsv"
    path.write_bytes("id\ttext\n1\theadache\n".encode(encoding))
    with pytest.raises(InputError, match=f"seems to be {encoding.upper().replace('-16-', '-16')} without a byte order mark") as err:
        list(numbered_lines(path))
    assert (err.value.path, err.value.line) == (str(path), 1)


def test_a_file_of_bare_cr_lines_is_named(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_bytes(b"id\ttext\r1\theadache\r2\tdry mouth\r")
    with pytest.raises(InputError, match=r"a.tsv:1: the file seems to use bare CR line ends \(old Mac\)"):
        list(numbered_lines(path))
    # A bare CR inside a line of a file with LF line ends is text.
    path.write_bytes(b"id\ttext\r\n1\tone\rtwo\n")
    assert list(numbered_lines(path)) == [(1, "id\ttext"), (2, "1\tone\rtwo")]


def test_utf16_detector_and_bare_cr_pieces():
    assert utf16_without_bom("text\n".encode("utf-16-le")) == "UTF-16LE"
    assert utf16_without_bom("text\n".encode("utf-16-be")) == "UTF-16BE"
    assert utf16_without_bom(b"a\x00b\x00") is None  # too few NULs to tell
    assert utf16_without_bom("tweet with one NUL \x00 in it".encode()) is None
    assert bare_cr_pieces("a\rb\r\n") == ["a", "b"]
    assert bare_cr_pieces("one line\r\n") == ["one line"]


RUSSIAN = '{"id": 7, "text": "у меня болит голова после таблетки, третий день подряд"}\n'


@pytest.mark.parametrize("encoding,name", [("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE")])
def test_utf16_of_non_latin_text_is_told(encoding, name):
    # Cyrillic in UTF-16 has no NUL bytes (U+0443 is 43 04), only its spaces and the JSON
    # around it do: far fewer than a quarter of the bytes.
    data = RUSSIAN.encode(encoding)
    assert data.count(0) * 4 < len(data)
    assert utf16_without_bom(data) == name
    # A line as the reader holds it: decoded as UTF-8 with bad bytes escaped.
    assert utf16_without_bom("é, ü: déjà vu\n".encode(encoding).decode("utf-8", "surrogateescape")) == name


def test_utf8_text_with_stray_nuls_is_not_taken_for_utf16():
    assert utf16_without_bom(RUSSIAN.replace(" ", "\x00", 4).encode("utf-8")) is None
    # NULs on one side, but the rest is UTF-8 beyond ASCII, which UTF-16 practically never is.
    assert utf16_without_bom("a\x00b\x00c\x00d\x00 ü\n".encode()) is None
