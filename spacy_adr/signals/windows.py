"""Time windows of records: the day, ISO week, month or year a record's date falls in.

A date is read from a field that `spacy-adr annotate --keep-field` copied from the input, in
the forms tweet dumps hold it:
- ISO 8601: "2020-03-01", "2020-03-01T12:30:00Z", "2020-03-01 12:30:00+02:00";
- Twitter's v1.1 `created_at`: "Sun Mar 01 12:30:00 +0000 2020";
- a Unix time in seconds, or in milliseconds (a number over 10^11, e.g. Twitter's
  `timestamp_ms`), as a number or a string of digits.
A date with a time zone is taken in UTC, one without as it is written. Anything else is not a
date: the caller reports it with file and line.
"""
import datetime
import re
from typing import Any, Optional

WINDOWS = ("day", "week", "month", "year")
_TWITTER_FORMAT = "%a %b %d %H:%M:%S %z %Y"
_DIGITS = re.compile(r"^\d{9,13}(\.\d+)?$")
# Unix times in milliseconds are over this; in seconds they stay under it until the year 5138.
_MILLISECONDS = 10**11


def parse_date(value: Any) -> Optional[datetime.datetime]:
    """Read a date in one of the forms of the module docstring.

    value (Any): The field's value.
    RETURNS (Optional[datetime.datetime]): The date (naive, in UTC where it had a zone); None
        when the value is not a date.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_unix(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _DIGITS.match(text):
        return _from_unix(float(text))
    try:
        parsed = datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        try:
            parsed = datetime.datetime.strptime(text, _TWITTER_FORMAT)
        except ValueError:
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return parsed


def _from_unix(seconds: float) -> Optional[datetime.datetime]:
    if seconds != seconds or seconds < 0:  # NaN or before 1970
        return None
    if seconds > _MILLISECONDS:
        seconds /= 1000
    try:
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def window_of(date: datetime.datetime, window: str) -> str:
    """The label of the window a date falls in.

    date (datetime.datetime): The date.
    window (str): "day" ("2020-03-01"), "week" (ISO week, "2020-W09"), "month" ("2020-03")
        or "year" ("2020").
    RETURNS (str): The label; labels of one kind sort in time order.
    """
    if window == "day":
        return date.strftime("%Y-%m-%d")
    if window == "week":
        year, week, _ = date.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if window == "month":
        return date.strftime("%Y-%m")
    if window == "year":
        return f"{date.year:04d}"
    raise ValueError(f"unknown window {window!r}; use one of {', '.join(WINDOWS)}")
