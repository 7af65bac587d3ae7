"""The one error the client raises for anything the platform refused or could not be asked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

if TYPE_CHECKING:
    from .models import Job

#: gRPC status → HTTP status, as the gateway maps them (Google's mapping), for errors told inside a stream.
HTTP_STATUS_OF_CODE: Mapping[str, int] = {
    "canceled": 499,
    "unknown": 500,
    "invalid_argument": 400,
    "deadline_exceeded": 504,
    "not_found": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "resource_exhausted": 429,
    "failed_precondition": 400,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "data_loss": 500,
    "unauthenticated": 401,
}


@dataclass(frozen=True)
class FieldViolation:
    """One problem with a request: the field (a dotted path), what is wrong, and how to fix it."""

    field: str
    message: str
    expected: Optional[str] = None
    got: Optional[str] = None
    hint: Optional[str] = None
    file: Optional[str] = None
    line: Optional[int] = None
    column: Optional[int] = None

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> FieldViolation:
        def text(k: str) -> Optional[str]:
            v = d.get(k)
            return v if isinstance(v, str) else None

        def number(k: str) -> Optional[int]:
            v = d.get(k)
            return v if isinstance(v, int) and not isinstance(v, bool) else None

        return FieldViolation(
            field=text("field") or "",
            message=text("message") or "",
            expected=text("expected"),
            got=text("got"),
            hint=text("hint"),
            file=text("file"),
            line=number("line"),
            column=number("column"),
        )

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line or 0}:{self.column or 0}: "
        elif self.line is not None:
            where = f"{self.line}:{self.column or 0}: "
        expected = ""
        if self.expected is not None:
            expected = f" (expected {self.expected}" + (f", got {self.got}" if self.got is not None else "") + ")"
        hint = f"\n    hint: {self.hint}" if self.hint is not None else ""
        return f"{where}{self.field}: {self.message}{expected}{hint}"


class SwitchyardError(Exception):
    """
    The platform refused a call, or could not be reached.

    ``status`` is the HTTP status of the answer (404, 400, 401, …), or None when no answer came (the server could not
    be reached, its certificate was not trusted, a stream was cut short). ``code`` is the platform's error code, the
    gRPC code's name as Connect spells it (``not_found``, ``invalid_argument``, ``unauthenticated``, ``unavailable``,
    …); ``message`` is written for a person; ``details`` lists the fields at fault, each with what was expected and a
    hint.
    """

    def __init__(self, status: Optional[int], code: str, message: str, details: Sequence[FieldViolation] = ()) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details: tuple[FieldViolation, ...] = tuple(details)
        super().__init__(self.__str__())

    @staticmethod
    def from_body(status: Optional[int], body: bytes, reason: str = "") -> SwitchyardError:
        """An error from the gateway's ``{code, message, details}`` body (or whatever else a server answered)."""
        try:
            d = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            d = None
        if isinstance(d, dict) and isinstance(d.get("code"), str) and isinstance(d.get("message"), str):
            raw = d.get("details")
            details = [FieldViolation.from_json(x) for x in raw if isinstance(x, dict)] if isinstance(raw, list) else []
            return SwitchyardError(status, d["code"], d["message"], details)
        text = body.decode("utf-8", "replace").strip()[:500]
        return SwitchyardError(status, "unknown", f"HTTP {status} {reason}".strip() + (f": {text}" if text else ""))

    def __str__(self) -> str:
        # As the CLI prints an error: the message, then the violations unless the message already lists them.
        if not self.details or "\n" in self.message or self.details[0].message in self.message:
            return self.message
        return self.message + "\n" + "\n".join(str(d) for d in self.details)

    def __repr__(self) -> str:
        return f"SwitchyardError(status={self.status!r}, code={self.code!r}, message={self.message!r}, details={list(self.details)!r})"


class WaitTimeout(SwitchyardError, TimeoutError):
    """``Client.wait`` gave up before the job reached a final phase; ``job`` is the job as it was last seen."""

    def __init__(self, job: Job, timeout: float) -> None:
        self.job = job
        super().__init__(None, "deadline_exceeded", f"job {job.name} is still {job.phase} after {timeout:g} s")
