import pytest

from spacy_adr.lines import numbered_lines
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
