"""Finding the names of a drug lexicon in a text: case-insensitive, whole words, leftmost-longest.

A name matches where the text holds it ignoring case, with any run of whitespace for its
spaces, and with no letter right before or after it. The boundaries are letters, not tokens:
tweets glue drugs to digits and punctuation that the tokenizer keeps in one token
("trazodone,1pill", "lipitor20mg"), while a letter on either side means another word
("ciprofloxacin" holds no "ofloxacin", "painkillers" no "pain"). "#Humira", "xanax's" and
"SEROQUEL" are matches; a name inside a user name or a link is not ("@dopamine_diva",
"http://x.co/lithium": the tweet does not talk of the drug there). Of overlapping matches the leftmost wins, and of those the longest
("seroquel xr" over "seroquel"). The gazetteer (`adr_gazetteer`) matches on token boundaries
instead, because its tags are per token: on Task 3 dev, with the project's drug lexicon, some
drug mention of the tweet was the right drug for 342 of the 353 ADR spans whose tweet names
its drug with letter boundaries, and for 333 with the gazetteer's token boundaries.

The Aho-Corasick automaton (pyahocorasick) is built from the lexicon's names, and rebuilt after
unpickling rather than pickled.
"""
import re
from typing import Dict, List, Optional, Tuple

import ahocorasick

from .drugs import DrugLexicon

# (start_char, end_char, normalised drug) of a match in the original text.
Match = Tuple[int, int, str]
# Text that the fast path cannot take as it is: whitespace other than single spaces.
_NOT_PLAIN = re.compile(r"\s{2,}|[^\S ]")
# User names and links, where a name matched is not a drug mention. Neither holds whitespace,
# so the pattern finds the same stretches in the searchable string as in the text.
_NOT_PROSE = re.compile(r"@\w+|\b(?:https?://|www\.)\S+")


class DrugMatcher:
    """The names of a drug lexicon, found in texts (see the module docstring)."""

    def __init__(self, lexicon: DrugLexicon) -> None:
        """Build the automaton.

        lexicon (DrugLexicon): The names and their drugs.
        """
        self.lexicon = lexicon
        self._automaton: Optional[ahocorasick.Automaton] = None
        self._build()

    def _build(self) -> None:
        automaton = ahocorasick.Automaton()
        for entry in self.lexicon:
            automaton.add_word(entry.name, (len(entry.name), entry.drug))
        if len(automaton):
            automaton.make_automaton()
            self._automaton = automaton

    def find(self, text: str) -> List[Match]:
        """The drug mentions of a text.

        text (str): The text.
        RETURNS (List[Match]): (start_char, end_char, drug) in text order, not overlapping.
        """
        if self._automaton is None:
            return []
        string, positions = _searchable(text)
        hidden = [match.span() for match in _NOT_PROSE.finditer(string)]
        candidates = []
        for last, (length, drug) in self._automaton.iter(string):
            start, end = last + 1 - length, last + 1
            if (start > 0 and string[start - 1].isalpha()) or (end < len(string) and string[end].isalpha()):
                continue
            if any(h_start <= start < h_end for h_start, h_end in hidden):
                continue
            candidates.append((start, -length, drug))
        candidates.sort()
        matches: List[Match] = []
        taken = 0
        for start, neg_length, drug in candidates:
            if start >= taken:
                taken = start - neg_length
                if positions is None:
                    matches.append((start, taken, drug))
                else:
                    matches.append((positions[start], positions[taken - 1] + 1, drug))
        return matches

    def __getstate__(self) -> Dict[str, DrugLexicon]:
        return {"lexicon": self.lexicon}

    def __setstate__(self, state: Dict[str, DrugLexicon]) -> None:
        self.lexicon = state["lexicon"]
        self._automaton = None
        self._build()


def _searchable(text: str) -> Tuple[str, Optional[List[int]]]:
    # The lowercased text with whitespace runs as one space, and the position in `text` of
    # each of its characters (None: the same positions, the common case).
    lowered = text.lower()
    if len(lowered) == len(text) and not _NOT_PLAIN.search(text):
        return lowered, None
    chars: List[str] = []
    positions: List[int] = []
    in_space = False
    for i, char in enumerate(text):
        if char.isspace():
            if in_space:
                continue
            char, in_space = " ", True
        else:
            low = char.lower()
            # A character whose lowercase is longer ("İ") stays as it is: offsets stay one to one.
            char, in_space = (low if len(low) == 1 else char), False
        chars.append(char)
        positions.append(i)
    return "".join(chars), positions
