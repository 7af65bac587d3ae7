"""What the REST API answers, as typed objects (the schemas of ``/openapi.json``: Job, MetricSeries, WhoAmIResponse)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

#: A JSON value as the gateway sends it (proto3 JSON: 64-bit integers are strings).
Json = Union[None, bool, int, float, str, List["Json"], Dict[str, "Json"]]

#: The phases a job ends in; ``Client.wait`` returns at the first of them.
FINAL_PHASES: Tuple[str, ...] = ("Succeeded", "Failed", "Cancelled")

_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$")


def parse_time(value: object) -> Optional[datetime]:
    """An RFC 3339 timestamp as proto3 JSON writes it (up to nanoseconds; microseconds kept), as an aware datetime."""
    if not isinstance(value, str):
        return None
    m = _RFC3339.match(value)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, sign, oh, om = m.groups()
    micros = int((frac or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if sign:
        offset = timedelta(hours=int(oh), minutes=int(om))
        tz = timezone(offset if sign == "+" else -offset)
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micros, tzinfo=tz)


def _obj(v: object) -> Mapping[str, Any]:
    return v if isinstance(v, dict) else {}


def _str(v: object) -> str:
    return v if isinstance(v, str) else ""


def _int(v: object) -> int:
    """An integer field: int32 as a number, int64 as a string (proto3 JSON)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            return 0
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return 0


def _float(v: object) -> float:
    """A double field: a number, or "NaN", "Infinity", "-Infinity" (proto3 JSON)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return float("nan")
    return float("nan")


@dataclass(frozen=True)
class Job:
    """A job as the platform reports it. ``raw`` is the whole answer (spec, replicas, …) as ``/openapi.json`` describes it."""

    name: str
    uid: str
    team: str
    #: Queued | Starting | Running | Retrying | Preempting | Succeeded | Failed | Cancelled
    phase: str
    reason: str
    message: str
    #: Attempts started so far (1 for the first run).
    attempt: int
    queue: str
    created: Optional[datetime]
    started: Optional[datetime]
    completed: Optional[datetime]
    raw: Mapping[str, Json] = field(repr=False, compare=False)

    @property
    def finished(self) -> bool:
        """Whether the job is in a final phase (Succeeded, Failed or Cancelled)."""
        return self.phase in FINAL_PHASES

    @property
    def succeeded(self) -> bool:
        return self.phase == "Succeeded"

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> Job:
        meta, spec, status = _obj(d.get("metadata")), _obj(d.get("spec")), _obj(d.get("status"))
        return Job(
            name=_str(meta.get("name")),
            uid=_str(meta.get("uid")),
            team=_str(meta.get("team")),
            phase=_str(status.get("phase")),
            reason=_str(status.get("reason")),
            message=_str(status.get("message")),
            attempt=_int(status.get("attempt")),
            queue=_str(spec.get("queue")),
            created=parse_time(meta.get("creationTimestamp")),
            started=parse_time(status.get("startTime")),
            completed=parse_time(status.get("completionTime")),
            raw=dict(d),
        )


@dataclass(frozen=True)
class MetricPoint:
    """One reported value, or a bucket of consecutive steps [step, step_to] once a long series is downsampled."""

    #: The point's position in its series: the platform numbers a series' points 1, 2, 3, … in the order they were
    #: printed (a ``step=`` printed beside it is a series of its own).
    step: int
    #: The value (a bucket's last).
    value: float
    time: Optional[datetime]
    step_to: int
    min: float
    max: float
    #: How many printed points the bucket stands for.
    count: int

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> MetricPoint:
        step = _int(d.get("step"))
        value = _float(d.get("value"))
        return MetricPoint(
            step=step,
            value=value,
            time=parse_time(d.get("time")),
            step_to=_int(d.get("stepTo")) or step,
            min=_float(d.get("min", value)),
            max=_float(d.get("max", value)),
            count=_int(d.get("count")) or 1,
        )


@dataclass(frozen=True)
class MetricSeries:
    """One metric of a job: its points (at most the ``max_points`` asked for), and the envelope of all of them."""

    name: str
    points: Tuple[MetricPoint, ...]
    latest: float
    min: float
    max: float
    #: Points the job printed; more than ``len(points)`` when downsampled.
    total_points: int

    @property
    def values(self) -> List[float]:
        return [p.value for p in self.points]

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> MetricSeries:
        points = d.get("points")
        return MetricSeries(
            name=_str(d.get("name")),
            points=tuple(MetricPoint.from_json(p) for p in points if isinstance(p, dict)) if isinstance(points, list) else (),
            latest=_float(d.get("latest")),
            min=_float(d.get("min")),
            max=_float(d.get("max")),
            total_points=_int(d.get("totalPoints")),
        )


@dataclass(frozen=True)
class WhoAmI:
    """The caller as the platform sees the token: user, role (admin | member | viewer) and teams."""

    user: str
    role: str
    teams: Tuple[str, ...]

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> WhoAmI:
        teams = d.get("teams")
        return WhoAmI(user=_str(d.get("user")), role=_str(d.get("role")), teams=tuple(t for t in teams if isinstance(t, str)) if isinstance(teams, list) else ())
