"""What a failed Pulumi command said, cut down to what a user needs: the engine's diagnostics. Pure."""

from __future__ import annotations

import re

_ERROR_LINE = re.compile(r"\berror:\s*(.+)", re.IGNORECASE)
# An update held to a plan that fails part way adds one of these for every planned step it did not reach,
# listed before the real cause; they are consequences, so they go last.
_UNREACHED = re.compile(r"expected resource operations? .* but none were seen", re.IGNORECASE)


def cause_first(lines: list[str]) -> list[str]:
    """``lines`` with the update plan's "expected … but none were seen" consequences moved after the rest."""
    return [line for line in lines if not _UNREACHED.search(line)] + [line for line in lines if _UNREACHED.search(line)]


_GENERIC = re.compile(r"^(update|preview|refresh|destroy) failed\.?$", re.IGNORECASE)


def error_lines(stdout: str, stderr: str, *, limit: int = 4) -> list[str]:
    """The last few distinct ``error:`` lines of a failed command (not the whole dump)."""
    found: list[str] = []
    for line in (stdout + "\n" + stderr).splitlines():
        match = _ERROR_LINE.search(line)
        if match:
            message = _shorten(match.group(1).strip())
            if message and message not in found:
                found.append(message)
    specific = [m for m in found if not _GENERIC.match(m)]
    found = cause_first(specific or found)
    if not found:
        tail = [s.strip() for s in (stderr or stdout).splitlines() if s.strip()]
        found = [_shorten(s) for s in tail[-2:]]
    return found[:limit]


_DIAGNOSTIC_HEAD = re.compile(r"^ {2}(\S+) \((.+)\):\s*$")  # "  aws:lambda:Function (hello-world):"
_MESSAGE_START = re.compile(r"^\s*(error|warning):\s?(.*)$")
_TRACEBACK = "Traceback (most recent call last):"
_NOISE = re.compile(
    r"^(update failed|preview failed|an unhandled error occurred: program exited with non-zero exit code: \d+)\.?$",
    re.IGNORECASE,
)


def diagnostics(stdout: str, *, limit: int = 4, width: int = 300) -> list[str]:
    """The error diagnostics of the engine's output, one line each: ``<type> (<name>): <reason>``.

    Read from the ``Diagnostics:`` section ``pulumi up``/``preview`` print; a Python traceback is cut
    down to the exception line; each reason is trimmed to ``width`` characters; at most ``limit`` lines,
    the generic ones ("update failed") only when nothing else says why.
    """
    found: list[str] = []
    for label, body in _diagnostic_blocks(stdout.splitlines()):
        for message in _error_messages(body):
            line = f"{label}: {_shorten(message, width)}"
            if line not in found:
                found.append(line)
    specific = [line for line in found if not _NOISE.match(line.split(": ", 1)[1])]
    return cause_first(specific or found)[:limit]


def _diagnostic_blocks(lines: list[str]) -> list[tuple[str, list[str]]]:
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Diagnostics:")
    except StopIteration:
        return []
    blocks: list[tuple[str, list[str]]] = []
    for line in lines[start + 1 :]:
        if line.strip() and not line.startswith(" "):
            break  # the next section: "Resources:", "Outputs:", "Duration:"
        head = _DIAGNOSTIC_HEAD.match(line)
        if head:
            blocks.append((f"{head.group(1)} ({head.group(2)})", []))
        elif blocks:
            blocks[-1][1].append(line)
    return blocks


def _error_messages(body: list[str]) -> list[str]:
    messages: list[list[str]] = []
    keep = False
    for line in body:
        start = _MESSAGE_START.match(line)
        if start:
            keep = start.group(1) == "error"
            if keep:
                messages.append([start.group(2).strip()])
        elif keep and line.strip():
            messages[-1].append(line.strip())
    return [_one_line(parts) for parts in messages]


def _one_line(parts: list[str]) -> str:
    if _TRACEBACK in parts:
        at = parts.index(_TRACEBACK)
        parts = [*parts[:at], parts[-1]]  # the frames are noise; the last line is the exception
    return re.sub(r"\s+", " ", " ".join(p for p in parts if p)).strip()


def _shorten(text: str, width: int = 400) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
