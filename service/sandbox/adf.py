"""Atlassian Document Format: REST v3 carries rich text as ADF where v2 carries plain text.

The sandbox stores plain text and converts at the edge, keeping paragraphs as lines.
"""

from __future__ import annotations

from typing import Any

_BLOCKS = {"paragraph", "heading", "blockquote", "codeBlock", "listItem", "panel"}


def from_text(text: str | None) -> dict[str, Any]:
    paragraphs = [line for line in (text or "").split("\n")]
    content = (
        [
            {"type": "paragraph", "content": [{"type": "text", "text": line}]}
            if line
            else {"type": "paragraph", "content": []}
            for line in paragraphs
        ]
        if text
        else []
    )
    return {"type": "doc", "version": 1, "content": content}


def to_text(node: Any) -> str:
    """Flatten an ADF document to text: blocks become lines, mentions their display text."""
    lines: list[str] = []
    _walk(node, lines, [])
    return "\n".join(lines).strip("\n")


def _walk(node: Any, lines: list[str], current: list[str]) -> None:
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "text":
        current.append(str(node.get("text", "")))
    elif kind == "hardBreak":
        current.append("\n")
    elif kind in ("mention", "emoji", "status"):
        current.append(str(node.get("attrs", {}).get("text", "")))
    elif kind in _BLOCKS:
        inner: list[str] = []
        for child in node.get("content", []):
            _walk(child, lines, inner)
        lines.append("".join(inner))
    else:
        for child in node.get("content", []):
            _walk(child, lines, current)
