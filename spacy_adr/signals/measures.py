"""Disproportionality measures of one drug-event pair from its 2x2 table.

                     the event (PT)   any other event
    the drug               a                 b
    any other drug         c                 d

- PRR (proportional reporting ratio) = [a / (a + b)] / [c / (c + d)], with
  SE(ln PRR) = sqrt(1/a - 1/(a + b) + 1/c - 1/(c + d)).
- ROR (reporting odds ratio) = (a / b) / (c / d) = ad / bc, with
  SE(ln ROR) = sqrt(1/a + 1/b + 1/c + 1/d).
- 95 % confidence intervals are log-normal: exp(ln X -/+ 1.96 SE).
- Continuity correction (Haldane-Anscombe): when any cell is 0, 0.5 is added to all four
  cells before PRR, ROR and their intervals are computed, so that neither ratio divides by 0
  (a drug seen with one event only has b = 0; an event seen with one drug only, c = 0). Rows
  say whether it was applied (`corrected`). Tables without a zero cell are left as they are.
- A pair is a signal when a >= the minimum count (3 by default: `spacy-adr signals
  --min-count`) and the lower 95 % bound of the ROR is above 1.
"""
import math
from dataclasses import dataclass

Z_95 = 1.959963984540054
CORRECTION = 0.5
DEFAULT_MIN_COUNT = 3


@dataclass(frozen=True)
class TwoByTwo:
    """The counts of one drug-event pair (see the module docstring).

    a (int): Cases of the drug with the event.
    b (int): Cases of the drug with any other event.
    c (int): Cases of any other drug with the event.
    d (int): Cases of any other drug with any other event.
    """

    a: int
    b: int
    c: int
    d: int

    def __post_init__(self) -> None:
        if min(self.a, self.b, self.c, self.d) < 0:
            raise ValueError(f"negative cell in {self}")

    @classmethod
    def from_margins(cls, a: int, drug_total: int, event_total: int, total: int) -> "TwoByTwo":
        """The table from the pair's count and its margins.

        a (int): Cases of the drug with the event.
        drug_total (int): Cases of the drug (a + b).
        event_total (int): Cases of the event (a + c).
        total (int): All cases (a + b + c + d).
        RETURNS (TwoByTwo): The table.
        """
        return cls(a, drug_total - a, event_total - a, total - drug_total - event_total + a)


@dataclass(frozen=True)
class Disproportionality:
    """PRR and ROR of a 2x2 table with 95 % confidence intervals.

    prr, prr_lower, prr_upper (float): PRR and its interval.
    ror, ror_lower, ror_upper (float): ROR and its interval.
    corrected (bool): Whether 0.5 was added to every cell (a cell was 0).
    """

    prr: float
    prr_lower: float
    prr_upper: float
    ror: float
    ror_lower: float
    ror_upper: float
    corrected: bool


def disproportionality(table: TwoByTwo, *, z: float = Z_95, correction: float = CORRECTION) -> Disproportionality:
    """PRR and ROR with log-normal confidence intervals (see the module docstring).

    table (TwoByTwo): The counts.
    z (float): The normal quantile of the intervals (1.96: 95 %).
    correction (float): Added to every cell when one is 0 (Haldane-Anscombe).
    RETURNS (Disproportionality): The measures.
    """
    corrected = min(table.a, table.b, table.c, table.d) == 0
    add = correction if corrected else 0.0
    a, b, c, d = table.a + add, table.b + add, table.c + add, table.d + add
    prr = (a / (a + b)) / (c / (c + d))
    se_prr = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    ror = (a * d) / (b * c)
    se_ror = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return Disproportionality(
        prr=prr, prr_lower=prr * math.exp(-z * se_prr), prr_upper=prr * math.exp(z * se_prr),
        ror=ror, ror_lower=ror * math.exp(-z * se_ror), ror_upper=ror * math.exp(z * se_ror),
        corrected=corrected,
    )


def is_signal(a: int, measures: Disproportionality, *, min_count: int = DEFAULT_MIN_COUNT) -> bool:
    """Whether a pair is a signal: a >= `min_count` and the ROR's lower 95 % bound above 1.

    a (int): Cases of the drug with the event.
    measures (Disproportionality): The pair's measures.
    min_count (int): The fewest cases of a signal.
    RETURNS (bool): The decision.
    """
    return a >= min_count and measures.ror_lower > 1.0
