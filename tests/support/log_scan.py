"""Looking for personal data and secrets in logs: each canary in every form a log line may hold it (as typed,
lowercased, JSON-escaped, URL-encoded, accents folded), in files and in captured console output."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus


@dataclass(frozen=True)
class Finding:
    canary: str
    form: str  # the text found
    where: str  # a file's path, or "console"
    line: str  # the line it is in, shortened

    def __str__(self) -> str:
        return f"{self.canary!r} as {self.form!r} in {self.where}: {self.line}"


def folded(text: str) -> str:
    """Accents removed ("Zéphyrine" -> "Zephyrine"), as search indexes fold words."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def canary_forms(canary: str) -> set[str]:
    """The forms of `canary` a log may hold, all lowercased (the search ignores case)."""
    forms = {canary, folded(canary), json.dumps(canary)[1:-1], quote(canary, safe=""), quote_plus(canary, safe="")}
    forms |= {json.dumps(form)[1:-1] for form in list(forms)}  # escaped twice: JSON inside a JSON log line
    return {form.lower() for form in forms if form}


def scan_text(text: str, canaries: Iterable[str], where: str) -> list[Finding]:
    found = []
    lowered = text.lower()
    for canary in canaries:
        for form in sorted(canary_forms(canary), key=len, reverse=True):
            at = lowered.find(form)
            if at >= 0:
                start, end = lowered.rfind("\n", 0, at) + 1, lowered.find("\n", at)
                line = text[start : end if end >= 0 else len(text)]
                found.append(Finding(canary, form, where, line[:300]))
                break  # one finding per canary and place is enough to fail
    return found


def scan_files(paths: Iterable[Path], canaries: Iterable[str], since: dict[Path, int] | None = None) -> list[Finding]:
    """Every file of `paths` (files, or folders searched whole); with `since`, only what a file gained after
    the size it had then (for logs shared with other runs)."""
    canaries = list(canaries)
    found = []
    for path in paths:
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if not file.is_file():
                continue
            with file.open("rb") as stream:
                stream.seek((since or {}).get(file, 0))
                found += scan_text(stream.read().decode("utf-8", "replace"), canaries, str(file))
    return found


def sizes(folder: Path) -> dict[Path, int]:
    """Each file's size now: what `scan_files(since=...)` skips."""
    return {file: file.stat().st_size for file in folder.rglob("*") if file.is_file()} if folder.is_dir() else {}
