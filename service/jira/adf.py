"""Atlassian Document Format (ADF) and plain text: one reading of a comment, whichever path it took.

REST v3 on Cloud carries rich text as an ADF document where v2 and Data Center carry a string. The
webhook reader (`payloads.comment_row`) and the REST client (`JiraClient.comments`) both turn a
comment body into text here, so that one comment gives one text: the outbox finds its marker in
it, and the mirror stores the same words the outbox compared.

The sandbox (`service.sandbox.adf`) has an ADF converter of its own and keeps it: it stands in for
Jira and imports nothing of ours, so that tests against it prove what Jira does, not what this
module assumes.
"""

from __future__ import annotations

from typing import Any

# Inline nodes that are not text but read as text: the attributes to show, first found wins.
# Cloud's mention carries "@Display Name" in `text`; an emoji its character in `text` and
# ":short_name:" in `shortName` (custom emoji have no character).
_INLINE_ATTRS: dict[str, tuple[str, ...]] = {
    "mention": ("text",),
    "emoji": ("text", "shortName"),
    "status": ("text",),
    "inlineCard": ("url",),
}
_INLINE = {"text", "hardBreak", *_INLINE_ATTRS}


def text_to_adf(text: str) -> dict[str, Any]:
    """Blank lines start paragraphs, single newlines become hard breaks; text nodes are literal.

    Literal matters: Cloud reads a v2 string as wiki markup, where the outbox's
    `[scopewatch change N]` marker would be link syntax, while an ADF text node reads back as typed.
    """
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    content = []
    for paragraph in paragraphs:
        nodes: list[dict[str, Any]] = []
        for number, line in enumerate(paragraph.strip("\n").split("\n")):
            if number:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": content}


def adf_to_text(node: Any) -> str:
    """Plain text of an ADF document: blocks apart by a blank line, hard breaks as newlines.

    The inverse of `text_to_adf` for what it writes, so a comment we post reads back unchanged.
    """
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind in _INLINE_ATTRS:
        attrs = node.get("attrs") or {}
        return next((str(attrs[a]) for a in _INLINE_ATTRS[kind] if attrs.get(a)), "")
    children = [c for c in node.get("content") or [] if isinstance(c, dict)]
    texts = [adf_to_text(c) for c in children]
    if all(c.get("type") in _INLINE for c in children):
        return "".join(texts)
    return "\n\n".join(t for t in texts if t)


def comment_text(body: Any) -> str:
    """A comment body as plain text: a v2 string, or a v3 ADF document, or nothing at all.

    Data Center keeps the browser's CRLF line ends; they are read as plain newlines.
    """
    text = adf_to_text(body) if isinstance(body, dict) else str(body or "")
    return text.replace("\r\n", "\n")
