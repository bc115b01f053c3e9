"""Reporting bad input: every problem names the file, the line and what is wrong.

Readers raise `InputError` for a record they cannot read at all (a short row, undecodable
bytes, empty text) and add a `Problem` to a `ConversionReport` for a part of a record they had
to leave out (a span that does not match the text). Nothing is dropped without a trace.

A problem of the whole file (not found, unknown format or compression) has line 0 and is
printed as `file: problem`: a "line 0" would send the reader to a line that does not exist.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Union

from wasabi import msg


def where(path: Union[str, Path], line: int) -> str:
    """`file:line` for a place in a file; only `file` for the whole file (line 0).

    path (Union[str, Path]): The file.
    line (int): The 1-based line, 0 for the whole file.
    RETURNS (str): The place, as messages print it.
    """
    return f"{path}:{line}" if line else str(path)


class InputError(ValueError):
    """A record or file that cannot be read. The message names file, line and problem.

    path (Union[str, Path]): The file.
    line (int): The 1-based line; 0 when the problem is the whole file's (then not printed).
    problem (str): What is wrong.
    """

    def __init__(self, path: Union[str, Path], line: int, problem: str):
        self.path = str(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{where(self.path, line)}: {problem}")


@dataclass(frozen=True)
class Problem:
    """A part of a record that a reader had to change or leave out."""

    path: str
    line: int
    problem: str
    text: str = ""

    def __str__(self) -> str:
        place = f"{where(self.path, self.line)}: {self.problem}"
        return f"{place}: {self.text!r}" if self.text else place


@dataclass
class ConversionReport:
    """Counts and problems of one conversion, printed at its end.

    records (int): Input records read (rows, documents, sentences).
    docs (int): Docs written.
    spans (int): Gold spans in the input.
    spans_aligned (int): Gold spans that became spans of a Doc.
    problems (List[Problem]): Everything changed or left out, with file and line.
    """

    source: str
    records: int = 0
    docs: int = 0
    spans: int = 0
    spans_aligned: int = 0
    problems: List[Problem] = field(default_factory=list)

    def add_problem(self, path: Union[str, Path], line: int, problem: str, text: str = "") -> None:
        self.problems.append(Problem(str(path), line, problem, text))

    def merge(self, other: "ConversionReport") -> None:
        self.records += other.records
        self.docs += other.docs
        self.spans += other.spans
        self.spans_aligned += other.spans_aligned
        self.problems.extend(other.problems)

    def summary(self) -> str:
        return (
            f"{self.source}: {self.records} records -> {self.docs} docs, "
            f"{self.spans_aligned}/{self.spans} spans aligned, {len(self.problems)} problems"
        )

    def print(self, max_problems: int = 20) -> None:
        """Print the summary and the first problems (all of them are in `problems`)."""
        msg.info(self.summary())
        for problem in self.problems[:max_problems]:
            msg.warn(str(problem))
        if len(self.problems) > max_problems:
            msg.warn(f"... and {len(self.problems) - max_problems} more problems")

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "records": self.records,
            "docs": self.docs,
            "spans": self.spans,
            "spans_aligned": self.spans_aligned,
            "problems": [str(p) for p in self.problems],
        }
