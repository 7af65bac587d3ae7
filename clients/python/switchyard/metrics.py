"""
Reporting metrics from inside a job: a ``name=value`` line on stdout, which the platform's metrics collector reads.

The collector (``services/jobs/src/metrics-collector.ts``) reads replica 0's output — stdout and stderr together —
line by line, Katib's default format: every ``name=value`` pair in a line whose name is made of letters, digits,
``_``, ``|`` and ``-`` and whose value is a decimal number (``1``, ``-0.25``, ``3e-05``) is a point of the series
``name``. A series' points are numbered in the order they were printed. ``step=`` printed on the same line is read
as a series of its own named ``step`` (as ``epoch=`` is in the demo job), so a step can be read back beside the value.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Mapping, Optional, SupportsFloat, TextIO, Union

Number = Union[int, float, SupportsFloat]

# The collector's name pattern ([\w|-]+ in JavaScript, where \w is ASCII) — a name with any other character would be
# read as a different name (only the part after it) or not at all.
_NAME = re.compile(r"[A-Za-z0-9_|-]+")


def format_metric_value(value: Number) -> str:
    """The value as the collector reads it: an integer as it is, anything else as Python's shortest float repr."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise TypeError(f"a metric's value is a number, not {type(value).__name__}")
    if isinstance(value, int):
        try:
            finite = math.isfinite(float(value))
        except OverflowError:
            finite = False
        text = str(value)
    else:
        f = float(value)
        finite = math.isfinite(f)
        text = repr(f)
    if not finite:
        raise ValueError(f"a metric's value must be finite (the collector skips {value!r})")
    return text


def format_metrics(values: Mapping[str, Number], step: Optional[int] = None) -> str:
    """The line ``log_metrics`` prints, without its newline: ``[step=N ]name=value[ name=value…]``."""
    if not values:
        raise ValueError("no metrics given")
    pairs = []
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, int):
            raise TypeError(f"step is an integer, not {type(step).__name__}")
        if "step" in values:
            raise ValueError('"step" is given both as a metric and as step=')
        pairs.append(f"step={step}")
    for name, value in values.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"metric name {name!r} is not read whole by the platform: use letters, digits, _, | and - (e.g. val_loss)")
        pairs.append(f"{name}={format_metric_value(value)}")
    return " ".join(pairs)


def log_metrics(values: Mapping[str, Number], step: Optional[int] = None, file: Optional[TextIO] = None) -> None:
    """
    Prints several metrics on one line (``step=3 loss=0.25 accuracy=0.9``) to stdout and flushes it, so the platform
    has it at once even when stdout is a file or a pipe (Python buffers those).
    """
    out = sys.stdout if file is None else file
    out.write(format_metrics(values, step) + "\n")
    out.flush()


def log_metric(name: str, value: Number, step: Optional[int] = None, file: Optional[TextIO] = None) -> None:
    """Prints ``name=value`` (``step=N name=value`` with ``step``) on its own line of stdout, flushed."""
    log_metrics({name: value}, step=step, file=file)
