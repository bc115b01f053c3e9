"""Bad input met while counting, reported with file and line, in memory that does not grow
with the input: a count per kind of problem and the first few places of each."""
from collections import Counter
from pathlib import Path
from typing import Dict, List, Union

from ..errors import Problem

MAX_EXAMPLES = 20


class ProblemLog:
    """Counts problems by kind and keeps the first `max_examples` of each with file and line."""

    def __init__(self, max_examples: int = MAX_EXAMPLES) -> None:
        """Create an empty log.

        max_examples (int): Places kept per kind of problem.
        """
        self.max_examples = max_examples
        self.counts: Counter = Counter()
        self.examples: Dict[str, List[Problem]] = {}

    def add(self, path: Union[str, Path], line: int, kind: str, detail: str = "") -> None:
        """Record one problem.

        path (Union[str, Path]): The file.
        line (int): The 1-based line; 0 for the whole file.
        kind (str): What is wrong, the same words for every problem of its kind.
        detail (str): This occurrence's particulars (an error message, a value).
        """
        self.counts[kind] += 1
        kept = self.examples.setdefault(kind, [])
        if len(kept) < self.max_examples:
            kept.append(Problem(str(path), line, kind, detail))

    def __len__(self) -> int:
        """RETURNS (int): All problems recorded."""
        return sum(self.counts.values())

    def lines(self) -> List[str]:
        """RETURNS (List[str]): The kept problems as `file:line: kind: 'detail'`, most frequent
        kind first."""
        return [str(problem) for kind, _ in self.counts.most_common() for problem in self.examples[kind]]

    def to_dict(self) -> Dict[str, object]:
        """RETURNS (Dict[str, object]): {"counts": {kind: n}, "examples": [line, ...]}."""
        return {"counts": dict(self.counts.most_common()), "examples": self.lines()}
