"""Which drug an ADR mention is about: rules over the drug mentions of its tweet.

A tweet rarely says which drug caused what in a way a rule can parse, but it is short: most
name one drug, and where they name several the ADR is usually next to its drug ("adderall
makes me vomit and vyvanse gives me migraines"). The rules, each a plain function of the
mention's character offsets and the tweet's drug mentions:

- "nearest": the drug mention closest to the ADR mention in characters (0 when they
  overlap); of two at the same distance, the one before it.
- "preceding": the closest drug mention that starts before the ADR mention, else the
  closest after it.
- "first": the tweet's first drug mention.
- "only": the tweet's drug when all its mentions name one drug, else none.
- "most-mentioned": the drug mentioned most often in the tweet; a tie goes to the one
  mentioned first.

`spacy-adr-builder evaluate-drugs` compares them on Task 3 dev, whose rows name the drug of
each ADR mention; `adr_drug_mentions` uses the best ("preceding", `DEFAULT_RULE`).
"""
from collections import Counter
from typing import Callable, Dict, Optional, Sequence, Tuple

# (start_char, end_char, normalised drug name), in text order.
Mention = Tuple[int, int, str]
Offsets = Tuple[int, int]

# Chosen by `spacy-adr-builder evaluate-drugs` on Task 3 dev (metrics/drugs.json): the best
# of the rules there, ahead of "nearest" ("X made me Y": the drug tends to come first).
DEFAULT_RULE = "preceding"


def _distance(target: Offsets, mention: Mention) -> int:
    start, end = target
    if mention[1] <= start:
        return start - mention[1]
    if mention[0] >= end:
        return mention[0] - end
    return 0


def nearest(target: Offsets, mentions: Sequence[Mention]) -> Optional[str]:
    """The drug of the mention closest to `target`; a tie goes to the earlier mention."""
    if not mentions:
        return None
    # min() keeps the first of equal keys, and `mentions` are in text order.
    return min(mentions, key=lambda mention: _distance(target, mention))[2]


def preceding(target: Offsets, mentions: Sequence[Mention]) -> Optional[str]:
    """The drug of the closest mention starting before `target`, else of the closest after."""
    before = [mention for mention in mentions if mention[0] < target[0]]
    return nearest(target, before[-1:] or mentions)


def first(target: Offsets, mentions: Sequence[Mention]) -> Optional[str]:
    """The drug of the tweet's first mention."""
    return mentions[0][2] if mentions else None


def only(target: Offsets, mentions: Sequence[Mention]) -> Optional[str]:
    """The tweet's drug when its mentions name exactly one drug."""
    drugs = {mention[2] for mention in mentions}
    return drugs.pop() if len(drugs) == 1 else None


def most_mentioned(target: Offsets, mentions: Sequence[Mention]) -> Optional[str]:
    """The drug mentioned most often; a tie goes to the one mentioned first."""
    if not mentions:
        return None
    # Counter keeps first-seen order, and most_common keeps it among equal counts.
    return Counter(mention[2] for mention in mentions).most_common(1)[0][0]


RULES: Dict[str, Callable[[Offsets, Sequence[Mention]], Optional[str]]] = {
    "nearest": nearest,
    "preceding": preceding,
    "first": first,
    "only": only,
    "most-mentioned": most_mentioned,
}


def attribute_drug(target: Offsets, mentions: Sequence[Mention], rule: str = DEFAULT_RULE) -> Optional[str]:
    """The drug an ADR mention is about, by a rule.

    target (Offsets): (start_char, end_char) of the ADR mention.
    mentions (Sequence[Mention]): The tweet's drug mentions (start_char, end_char, drug), in
        text order.
    rule (str): One of `RULES`.
    RETURNS (Optional[str]): The normalised drug name; None when the rule finds none.
    """
    return get_rule(rule)(target, mentions)


def get_rule(rule: str) -> Callable[[Offsets, Sequence[Mention]], Optional[str]]:
    """The function of a rule.

    rule (str): One of `RULES`.
    RETURNS (Callable[[Offsets, Sequence[Mention]], Optional[str]]): The rule.
    RAISES (ValueError): An unknown rule.
    """
    if rule not in RULES:
        raise ValueError(f"unknown drug attribution rule {rule!r}: choose one of {', '.join(RULES)}")
    return RULES[rule]
