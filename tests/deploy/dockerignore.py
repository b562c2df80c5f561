"""Docker's .dockerignore matching, for the build-context tests.

Semantics of moby/patternmatcher (what `docker build` uses): patterns are cleaned and
taken relative to the context root (a leading ``/`` is dropped); ``*`` matches within one
path segment, ``?`` one character, ``**`` any number of segments; a pattern that matches a
directory excludes everything under it; ``!`` re-includes; the last matching pattern wins.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    exclusion: bool  # a `!` pattern: re-includes what it matches
    text: str


def _to_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                i += 1
                if pattern.startswith("/", i + 1):  # `**/`: zero or more whole segments
                    out += "(?:.*/)?"
                    i += 1
                else:
                    out += ".*"
            else:
                out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.find("]", i)
            if end == -1:
                out += re.escape(char)
            else:
                body = pattern[i + 1 : end]
                out += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out + "$")


def parse(text: str) -> list[Pattern]:
    """The patterns of a .dockerignore file, in order (comments and blanks dropped)."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        body = line[1:].strip() if exclusion else line
        body = posixpath.normpath(body).lstrip("/")
        patterns.append(Pattern(_to_regex(body), exclusion, line))
    return patterns


def ignored(path: str, patterns: list[Pattern]) -> bool:
    """Whether ``path`` (relative, with ``/``) stays out of the build context."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    result = False
    for pattern in patterns:
        # A pattern matching a parent directory matches everything below it.
        if any(pattern.regex.match(prefix) for prefix in prefixes):
            result = not pattern.exclusion
    return result


def context_files(root: Path) -> Iterator[str]:
    """Every file `docker build` would send from ``root``, per its .dockerignore."""
    patterns = parse((root / ".dockerignore").read_text(encoding="utf-8"))
    reincludes = any(p.exclusion for p in patterns)
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        rel = "" if rel == "." else rel + "/"
        if not reincludes:  # nothing below an ignored folder can come back
            dirs[:] = [d for d in dirs if not ignored(rel + d, patterns)]
        for name in files:
            if not ignored(rel + name, patterns):
                yield rel + name
