"""The REST client: Switchyard's jobs over the gateway's HTTP API (``/openapi.json``), with the standard library only."""

from __future__ import annotations

import builtins
import json
import os
import socket
import ssl
import time
import urllib.error
import urllib.request
import uuid
import warnings
from http.client import HTTPResponse
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import quote, urlencode

from .config import load_config
from .errors import HTTP_STATUS_OF_CODE, SwitchyardError, WaitTimeout
from .models import Job, MetricSeries, WhoAmI
from .sse import read_events

PathLike = Union[str, "os.PathLike[str]"]

#: Every route this client calls, as ``/openapi.json`` names them (its tests check each is there).
ROUTES: Tuple[Tuple[str, str], ...] = (
    ("post", "/v1/jobs"),
    ("get", "/v1/jobs"),
    ("get", "/v1/jobs/{name}"),
    ("post", "/v1/jobs/{name}:cancel"),
    ("get", "/v1/jobs/{name}/logs"),
    ("get", "/v1/jobs/{name}/metrics"),
    ("get", "/v1/whoami"),
)


class SwitchyardWarning(UserWarning):
    """What the platform warned about when it accepted a job (e.g. fields of a Kubeflow manifest it ignores)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # The gateway never redirects; following one would send the token wherever it points.
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


class LogStream:
    """
    A replica's log as its lines, read from the gateway's server-sent events (one event per line of text, UTF-8;
    bytes that are not UTF-8 arrive as U+FFFD). Iterate it, or use it as a context manager to close it early.
    Iteration ends when the log is complete; a stream cut short raises SwitchyardError (status None).
    """

    def __init__(self, response: HTTPResponse, name: str) -> None:
        self._response = response
        self._name = name
        self._events = read_events(response)

    def __iter__(self) -> Iterator[str]:
        try:
            for e in self._events:
                if e.event == "message":
                    yield e.data
                elif e.event == "end":
                    return
                elif e.event == "error":
                    err = SwitchyardError.from_body(None, e.data.encode("utf-8"))
                    raise SwitchyardError(HTTP_STATUS_OF_CODE.get(err.code), err.code, err.message, err.details)
            raise SwitchyardError(None, "unavailable", f"the log of {self._name} ended before it was complete: the connection was cut")
        except (OSError, ValueError) as e:
            # A read that failed (timeout, reset) or a response closed under the reader.
            raise SwitchyardError(None, "unavailable", f"reading the log of {self._name} failed: {e}") from e
        finally:
            self.close()

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> LogStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Client:
    """
    A Switchyard platform over REST. Without arguments, the server, token and CA file are what the CLI would use:
    ``SWITCHYARD_URL``, ``SWITCHYARD_TOKEN`` and ``SWITCHYARD_TLS_CA``, else the CLI config file (``config_path``).

    Every method raises SwitchyardError when the platform refuses the call (``status``, ``code``, ``message``,
    ``details``) or cannot be reached (``status`` None). ``team`` on a method names the team whose job it is, as
    ``--team`` does for the CLI: without it a name is looked up in every team the caller may read.
    """

    def __init__(self, server: Optional[str] = None, token: Optional[str] = None, *, ca_file: Optional[str] = None, config_file: Optional[str] = None, timeout: float = 30.0) -> None:
        cfg = load_config(config_file)
        server = server if server is not None else cfg.server
        if not server:
            raise SwitchyardError(None, "unavailable", "no server configured: run `switchyard up` or `switchyard login`, pass server=, or set SWITCHYARD_URL")
        self.server = server.rstrip("/")
        self._token = token if token is not None else cfg.token
        self.timeout = timeout
        ca = ca_file if ca_file is not None else cfg.ca
        handlers: List[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({}), _NoRedirects()]
        if self.server.startswith("https:"):
            # The CA file's certificate(s) and nothing else when one is given (a self-signed gateway is trusted as that
            # one certificate), the system's otherwise — as the CLI does.
            try:
                context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
            except (OSError, ssl.SSLError) as e:
                raise SwitchyardError(None, "invalid_argument", f"cannot read the CA file {ca}: {e}") from e
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"Client(server={self.server!r})"

    # --- jobs -------------------------------------------------------------------------------------------------------

    def submit(self, manifest: str, *, file_name: str = "", generate_name: bool = False, request_id: Optional[str] = None) -> Job:
        """
        Submits a manifest (YAML or JSON text: a native ``switchyard/v1`` Job, a Kubeflow PyTorchJob or TrainJob) and
        returns the job as stored. ``file_name`` is where errors say the manifest is; ``generate_name`` adds a random
        suffix to its name; ``request_id`` (a fresh UUID by default) makes a retried submission return the first
        result. What the platform warns about comes as SwitchyardWarning.
        """
        body = {"manifest": manifest, "requestId": request_id or str(uuid.uuid4()), "fileName": file_name, "generateName": generate_name}
        answer = self._json("POST", "/v1/jobs", body=body)
        for w in answer.get("warnings") or []:
            warnings.warn(str(w), SwitchyardWarning, stacklevel=2)
        return Job.from_json(answer.get("job") or {})

    def submit_file(self, path: PathLike, *, generate_name: bool = False, request_id: Optional[str] = None) -> Job:
        """Submits the manifest in a file (errors name it with line and column)."""
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
        return self.submit(text, file_name=os.fspath(path), generate_name=generate_name, request_id=request_id)

    def get(self, name: str, *, team: Optional[str] = None) -> Job:
        """The job of that name or uid."""
        return Job.from_json(self._json("GET", f"/v1/jobs/{_seg(name)}", query={"team": team}))

    def wait(self, name: str, *, timeout: Optional[float] = None, poll_interval: float = 0.5, team: Optional[str] = None) -> Job:
        """
        Waits until the job is in a final phase (Succeeded, Failed or Cancelled) and returns it — check ``.phase`` or
        ``.succeeded``. Raises WaitTimeout (a SwitchyardError and a TimeoutError, with ``.job``) after ``timeout``
        seconds (None: no limit).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(name, team=team)
            if job.finished:
                return job
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeout(job, timeout or 0.0)
                time.sleep(min(poll_interval, left))
            else:
                time.sleep(poll_interval)

    def logs(self, name: str, *, follow: bool = False, replica: int = 0, attempt: int = 0, team: Optional[str] = None) -> LogStream:
        """
        A replica's log (stdout and stderr together) as lines of text: what was written so far, and with ``follow``
        what is written next, until the replica ends (a queued job's follower waits for its start). ``attempt`` 0 is
        the latest. The call is made at once (so an unknown job raises here); the lines arrive as they are read.
        """
        query = {"team": team, "replica": replica or None, "attempt": attempt or None, "follow": "true" if follow else None}
        # A followed log may be quiet for long: the gateway sends a keep-alive every 15 s, so a read waits past that.
        response = self._open("GET", f"/v1/jobs/{_seg(name)}/logs", query=query, accept="text/event-stream", timeout=max(self.timeout, 60.0) if follow else self.timeout)
        return LogStream(response, name)

    def metrics(self, name: str, *, names: Optional[Sequence[str]] = None, max_points: Optional[int] = None, team: Optional[str] = None) -> Dict[str, MetricSeries]:
        """The job's metric series by name (all, or ``names``), each downsampled to ``max_points`` (default 1000)."""
        query = {"team": team, "names": builtins.list(names) if names else None, "maxPoints": max_points}
        answer = self._json("GET", f"/v1/jobs/{_seg(name)}/metrics", query=query)
        series = [MetricSeries.from_json(s) for s in answer.get("series") or [] if isinstance(s, dict)]
        return {s.name: s for s in series}

    def cancel(self, name: str, *, team: Optional[str] = None) -> Job:
        """Cancels a job (SIGTERM to every process, SIGKILL after the grace period) and returns it."""
        body = {"team": team} if team else {}
        return Job.from_json(self._json("POST", f"/v1/jobs/{_seg(name)}:cancel", body=body))

    def whoami(self) -> WhoAmI:
        """The user, role and teams the token speaks for."""
        return WhoAmI.from_json(self._json("GET", "/v1/whoami"))

    def list(self, *, state: Optional[str] = None, team: Optional[str] = None, limit: Optional[int] = None) -> builtins.list[Job]:
        """
        Jobs in the order they were submitted: all the caller may see, or those in one ``state`` (phase) or ``team``;
        at most ``limit`` (the first ones).
        """
        answer = self._json("GET", "/v1/jobs", query={"state": state, "team": team, "limit": limit})
        return [Job.from_json(j) for j in answer.get("jobs") or [] if isinstance(j, dict)]

    # --- the wire ---------------------------------------------------------------------------------------------------

    def _json(self, method: str, path: str, *, query: Optional[Mapping[str, Any]] = None, body: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        with self._open(method, path, query=query, body=body, accept="application/json", timeout=self.timeout) as response:
            raw = response.read()
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise SwitchyardError(response.status, "unknown", f"{method} {path} answered something that is not JSON: {raw[:200]!r}") from e
        if not isinstance(value, dict):
            raise SwitchyardError(response.status, "unknown", f"{method} {path} answered {type(value).__name__}, not a JSON object")
        return value

    def _open(self, method: str, path: str, *, query: Optional[Mapping[str, Any]] = None, body: Optional[Mapping[str, Any]] = None, accept: str, timeout: float) -> HTTPResponse:
        url = self.server + path
        pairs = [(k, v) for k, v in (query or {}).items() if v is not None]
        if pairs:
            url += "?" + urlencode(pairs, doseq=True)
        headers = {"accept": accept, "user-agent": "switchyard-python"}
        if self._token:
            headers["authorization"] = f"Bearer {self._token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["content-type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            response: HTTPResponse = self._opener.open(request, timeout=timeout)
            return response
        except urllib.error.HTTPError as e:
            with e:
                raise SwitchyardError.from_body(e.code, e.read(), e.reason) from None
        except urllib.error.URLError as e:
            raise _unreachable(self.server, e.reason) from e
        except (OSError, ssl.SSLError) as e:
            raise _unreachable(self.server, e) from e


def _seg(name: str) -> str:
    """A job's name or uid as one path segment."""
    if not name:
        raise ValueError("a job's name or uid is needed")
    return quote(name, safe="")


def _unreachable(server: str, reason: object) -> SwitchyardError:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return SwitchyardError(None, "unavailable", f"the platform at {server} could not be reached: its TLS certificate is not trusted ({reason.verify_message or reason}); pass ca_file= with the gateway's certificate (`switchyard up --tls` prints its fingerprint to compare), or set SWITCHYARD_TLS_CA")
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return SwitchyardError(None, "deadline_exceeded", f"the platform at {server} did not answer in time ({reason})")
    return SwitchyardError(None, "unavailable", f"the platform at {server} could not be reached: {reason}\n  start it with `switchyard up`, or check the server (SWITCHYARD_URL)")
