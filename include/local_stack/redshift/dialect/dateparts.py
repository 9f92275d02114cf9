"""Redshift's date and time part names and abbreviations, and the canonical name the emulator passes on.

https://docs.aws.amazon.com/redshift/latest/dg/r_Dateparts_for_datetime_functions.html
"""

from __future__ import annotations

from local_stack.redshift.sql_tokens import StatementError

_NAMES = {
    "millennium": ("millennium", "millennia", "mil", "mils"),
    "century": ("century", "centuries", "c", "cent", "cents"),
    "decade": ("decade", "decades", "dec", "decs"),
    "epoch": ("epoch",),
    "year": ("year", "years", "y", "yr", "yrs"),
    "quarter": ("quarter", "quarters", "qtr", "qtrs"),
    "month": ("month", "months", "mon", "mons"),
    "week": ("week", "weeks", "w"),
    "dow": ("dayofweek", "dow", "dw", "weekday"),
    "doy": ("dayofyear", "doy", "dy", "yearday"),
    "day": ("day", "days", "d"),
    "hour": ("hour", "hours", "h", "hr", "hrs"),
    "minute": ("minute", "minutes", "m", "min", "mins"),
    "second": ("second", "seconds", "s", "sec", "secs"),
    "millisecond": (
        "millisecond", "milliseconds", "ms", "msec", "msecs", "msecond", "mseconds", "millisec", "millisecs",
        "millisecon",
    ),
    "microsecond": (
        "microsecond", "microseconds", "microsec", "microsecs", "usecond", "useconds", "us", "usec", "usecs",
    ),
    "timezone": ("timezone",),
    "timezone_hour": ("timezone_hour",),
    "timezone_minute": ("timezone_minute",),
}  # fmt: skip
CANONICAL = {alias: name for name, aliases in _NAMES.items() for alias in aliases}
# Parts that only EXTRACT and DATE_PART accept (the page's notes), not DATEADD or DATEDIFF.
EXTRACT_ONLY = frozenset({"epoch", "dow", "doy", "timezone", "timezone_hour", "timezone_minute"})


def canonical(name: str, function: str) -> str:
    """The canonical name of date part `name` as `function` accepts it, or a StatementError as Redshift gives."""
    part = CANONICAL.get(name.lower())
    if part is None or (part in EXTRACT_ONLY and function in ("DATEADD", "DATEDIFF")):
        raise StatementError(f'{function}: date part "{name}" is not supported', "0A000")
    return part
