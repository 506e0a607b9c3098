"""A self-contained HTML page: the escaping every value goes through, the document around a body, the atomic write.

What the run report (``xpchaos.report.html``) and the history page (``xpchaos.report.history``) share: inline CSS,
no script, nothing fetched, so a page opens from disk, offline.
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path
from typing import Any


def esc(value: Any) -> str:
    """``value`` as text that HTML (and SVG) shows as written: in an element or in a quoted attribute."""
    return html.escape(str(value), quote=True)


def document(title: str, css: str, body: str) -> str:
    """The whole page around ``body`` (HTML already, escaped by the caller)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def write(html_text: str, path: Path) -> Path:
    """Write atomically (a temporary file beside it, then rename); creates the parent directories."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(html_text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
