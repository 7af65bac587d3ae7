"""
Where the platform is and who is calling: the CLI's own config file, overridden by the CLI's environment variables.

The file is the one ``switchyard up`` and ``switchyard login`` write (``apps/cli/src/cli-config.ts``):
``$SWITCHYARD_CONFIG``, else ``$XDG_CONFIG_HOME/switchyard/config.yaml``, else ``~/.config/switchyard/config.yaml``.
It is YAML. Only the subset the CLI writes is read, with the standard library (see ``parse_config_yaml``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

#: The keys read from the file; others are skipped whole, whatever their form.
CONFIG_KEYS: Tuple[str, ...] = ("server", "token", "team", "ca")


class ConfigError(ValueError):
    """The config file is not the YAML the CLI writes; says where (``file:line``) and what to do."""

    def __init__(self, source: str, line: int, message: str) -> None:
        self.source = source
        self.line = line
        super().__init__(f"{source}:{line}: {message}")


@dataclass(frozen=True)
class Config:
    """The server's URL, the bearer token, and the CA file to trust for an https server (None: not set)."""

    server: Optional[str] = None
    token: Optional[str] = None
    #: A PEM file of the certificate(s) to trust for an https server (``switchyard up --tls`` writes its own).
    ca: Optional[str] = None
    #: Written by nothing today and read by neither the CLI nor this client; kept so a file that has it reads.
    team: Optional[str] = None


def config_path(env: Optional[Mapping[str, str]] = None) -> str:
    """The CLI config file's path, as the CLI finds it."""
    e = os.environ if env is None else env
    explicit = e.get("SWITCHYARD_CONFIG")
    if explicit is not None:
        return explicit
    base = e.get("XDG_CONFIG_HOME")
    if base is None:
        base = os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "switchyard", "config.yaml")


def read_config_file(path: Optional[str] = None) -> Config:
    """The file's settings; an absent file is an empty config (as for the CLI). Raises ConfigError for a bad one."""
    p = config_path() if path is None else path
    try:
        with open(p, "r", encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return Config()
    values = parse_config_yaml(text, p)
    return Config(server=values.get("server"), token=values.get("token"), ca=values.get("ca"), team=values.get("team"))


def load_config(path: Optional[str] = None, env: Optional[Mapping[str, str]] = None) -> Config:
    """
    The settings as every CLI command resolves them: ``SWITCHYARD_URL``, ``SWITCHYARD_TOKEN`` and
    ``SWITCHYARD_TLS_CA`` override the file's ``server``, ``token`` and ``ca`` (a variable that is set wins, even
    empty, as in the CLI).
    """
    e = os.environ if env is None else env
    f = read_config_file(config_path(e) if path is None else path)

    def pick(var: str, fallback: Optional[str]) -> Optional[str]:
        v = e.get(var)
        return v if v is not None else fallback

    return Config(server=pick("SWITCHYARD_URL", f.server), token=pick("SWITCHYARD_TOKEN", f.token), ca=pick("SWITCHYARD_TLS_CA", f.ca), team=f.team)


# --- the YAML subset -------------------------------------------------------------------------------------------------

_KEY = re.compile(r"""^(?:"([^"\\]*)"|'([^']*)'|([A-Za-z_][\w.-]*))[ \t]*:(?:[ \t]+(.*))?$""")
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", "e": "\x1b",
    " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_NULLS = ("", "~", "null", "Null", "NULL")


def parse_config_yaml(text: str, source: str = "<config>") -> Dict[str, Optional[str]]:
    """
    The string values of the top-level keys in CONFIG_KEYS, from YAML as the CLI writes it (the ``yaml`` package's
    ``stringify`` of a flat object of strings). Read: one block mapping at the left margin, comments, blank lines and
    ``---``/``...`` markers; values that are plain, single-quoted or double-quoted scalars (every escape of YAML's
    double-quoted style), on one line or folded over more-indented lines (a line break reads as a space, an empty
    line as a newline; a double-quoted line ending in ``\\`` joins the next without one). A plain ``~``, ``null`` or
    nothing is absent (None). Other keys are skipped with whatever is indented under them. Anything else — block
    scalars (``|``, ``>``), flow collections, anchors, aliases, tags, nested mappings or lists under a key this client
    reads, duplicate keys — raises ConfigError with the line.
    """
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: Dict[str, Optional[str]] = {}
    seen: Dict[str, int] = {}
    i = 0
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        stripped = raw.strip()
        if stripped == "" or stripped.startswith("#"):
            i += 1
            continue
        if raw in ("---", "...") or raw.startswith(("--- #", "... #")):
            i += 1
            continue
        if raw[0] in " \t":
            raise ConfigError(source, lineno, "unexpected indentation: the file is one mapping of `key: value` lines at the left margin")
        m = _KEY.match(raw)
        if not m:
            raise ConfigError(source, lineno, "expected `key: value` (the CLI writes server, token and ca, one per line)")
        key = next(g for g in m.groups()[:3] if g is not None)
        rest = (m.group(4) or "").rstrip()
        j = i + 1
        cont: List[str] = []
        while j < len(lines) and (lines[j].strip() == "" or lines[j][0] in " \t"):
            cont.append(lines[j])
            j += 1
        while cont and cont[-1].strip() == "":
            cont.pop()
        if key in seen:
            raise ConfigError(source, lineno, f"{key} is given twice (also on line {seen[key]}): keep one")
        seen[key] = lineno
        if key in CONFIG_KEYS:
            out[key] = _scalar(key, rest, cont, source, lineno)
        i = j
    return out


def _scalar(key: str, first: str, cont: List[str], source: str, lineno: int) -> Optional[str]:
    if first == "" and cont:
        # The value starts on the next, indented line.
        first, cont, lineno = cont[0].strip(), cont[1:], lineno + 1
    if first.startswith('"') or first.startswith("'"):
        return _quoted(key, first, cont, source, lineno)
    if first.startswith("#"):
        first = ""
    unsupported = {"|": "a block scalar", ">": "a block scalar", "[": "a flow sequence", "{": "a flow mapping", "&": "an anchor", "*": "an alias", "!": "a tag", "%": "a directive", "@": "a reserved character", "`": "a reserved character"}
    if first[:1] in unsupported:
        raise ConfigError(source, lineno, f"{key}: {unsupported[first[:1]]} is not read by this client: write the value as a plain or quoted string")
    if first == "-" or first.startswith("- "):
        raise ConfigError(source, lineno, f"{key}: a list is not read by this client: {key} is one string")
    if first == "" and not cont:
        return None
    parts = [_plain_part(key, first, source, lineno)]
    for n, c in enumerate(cont, start=1):
        s = c.strip()
        if s.startswith("#"):
            if any(x.strip() and not x.strip().startswith("#") for x in cont[n:]):
                raise ConfigError(source, lineno + n, f"{key}: the value goes on after a comment")
            break
        parts.append(_plain_part(key, s, source, lineno + n))
    value = _fold(parts)
    return None if value in _NULLS else value


def _plain_part(key: str, s: str, source: str, lineno: int) -> str:
    cut = re.search(r"[ \t]#", s)
    if cut:
        s = s[: cut.start()].rstrip()
    if re.search(r":[ \t]", s) or s.endswith(":"):
        raise ConfigError(source, lineno, f"{key}: a plain value cannot hold ': ' (or be a nested mapping): quote it")
    return s


def _fold(lines: List[str]) -> str:
    """YAML's line folding of a flow scalar's lines (already trimmed): a break is a space, each empty line a newline."""
    out = lines[0]
    empty = 0
    for line in lines[1:]:
        if line == "":
            empty += 1
            continue
        out += "\n" * empty if empty else " "
        out += line
        empty = 0
    return out + "\n" * empty


def _quoted(key: str, first: str, cont: List[str], source: str, lineno: int) -> str:
    q = first[0]
    text = "\n".join([first] + cont)
    i = 1
    end = -1
    while i < len(text):
        c = text[i]
        if q == '"' and c == "\\":
            i += 2
            continue
        if c == q:
            if q == "'" and text[i + 1 : i + 2] == "'":
                i += 2
                continue
            end = i
            break
        i += 1
    if end < 0:
        raise ConfigError(source, lineno, f"{key}: the quoted value has no closing {q}")
    for n, rest in enumerate(text[end + 1 :].split("\n")):
        r = rest.strip()
        if r and not r.startswith("#"):
            raise ConfigError(source, lineno + n + text[: end + 1].count("\n"), f"{key}: unexpected text after the closing {q}")
    body = text[1:end].split("\n")
    if len(body) == 1:
        return _unescape(key, body[0], source, lineno) if q == '"' else body[0].replace("''", "'")
    # Folded over lines: each line's edges trimmed (escaped whitespace kept), a break read as a space, an empty line
    # as a newline, and in double quotes a line ending in an unescaped backslash joined to the next with nothing.
    segments: List[Tuple[str, bool]] = []
    for n, line in enumerate(body):
        if n > 0:
            line = line.lstrip(" \t")
        escaped_break = False
        if n < len(body) - 1:
            trimmed = line.rstrip(" \t")
            if q == '"' and _odd_backslashes(trimmed):
                if len(trimmed) < len(line):
                    trimmed = line[: len(trimmed) + 1]  # an escaped space or tab ends the line: it stays
                else:
                    trimmed, escaped_break = trimmed[:-1], True
            line = trimmed
        segments.append((line, escaped_break))
    joined, joined_escaped = segments[0]
    empty = 0
    for k, (line, escaped_break) in enumerate(segments[1:], start=1):
        if line == "" and k < len(segments) - 1:
            empty += 1
            continue
        joined += "\n" * empty if empty else ("" if joined_escaped else " ")
        joined += line
        joined_escaped = escaped_break
        empty = 0
    return _unescape(key, joined, source, lineno) if q == '"' else joined.replace("''", "'")


def _odd_backslashes(s: str) -> bool:
    n = len(s) - len(s.rstrip("\\"))
    return n % 2 == 1


def _unescape(key: str, s: str, source: str, lineno: int) -> str:
    out: List[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = s[i + 1 : i + 2]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e in _HEX_ESCAPES:
            n = _HEX_ESCAPES[e]
            digits = s[i + 2 : i + 2 + n]
            if len(digits) != n or not all(ch in "0123456789abcdefABCDEF" for ch in digits):
                raise ConfigError(source, lineno, f"{key}: \\{e} needs {n} hex digits")
            out.append(chr(int(digits, 16)))
            i += 2 + n
        else:
            raise ConfigError(source, lineno, f"{key}: unknown escape \\{e} in a double-quoted value")
    return "".join(out)
