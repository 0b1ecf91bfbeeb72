"""One ADF reading for every path: a comment's text is the same from a webhook and from REST."""

from __future__ import annotations

from typing import Any

from service.jira.adf import adf_to_text, comment_text, text_to_adf
from service.jira.client import JiraClient
from service.jira.payloads import comment_row
from tests.jira.jira_site import JiraSite
from tests.support import fixture_body

ALICE = "5f8a1c2b3d4e5f6a7b8c9d01"

# What a person writes in Jira Cloud's editor: two paragraphs, a line break, a mention, an emoji.
COMMENT = {
    "type": "doc",
    "version": 1,
    "content": [
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "Can the client confirm the PDF layout?"},
                {"type": "hardBreak"},
                {"type": "text", "text": "Asking "},
                {
                    "type": "mention",
                    "attrs": {"id": ALICE, "text": "@Alice Dev", "accessLevel": ""},
                },
                {"type": "text", "text": " "},
                {
                    "type": "emoji",
                    "attrs": {"shortName": ":pray:", "id": "1f64f", "text": "\U0001f64f"},
                },
            ],
        },
        {"type": "paragraph", "content": [{"type": "text", "text": "[scopewatch change 7]"}]},
    ],
}
TEXT = (
    "Can the client confirm the PDF layout?\nAsking @Alice Dev \U0001f64f\n\n[scopewatch change 7]"
)


def test_one_adf_comment_reads_the_same_from_a_webhook_and_from_rest(
    jira_client: JiraClient, site: JiraSite
) -> None:
    posted = site.http.post(f"{site.url}/rest/api/3/issue/ACME-5/comment", json={"body": COMMENT})
    posted.raise_for_status()
    event = fixture_body("cloud_comment_created")
    event["comment"]["body"] = COMMENT

    from_webhook = comment_row(event["comment"], str(event["issue"]["id"]))
    from_rest = jira_client.comments("ACME-5")[-1]

    assert from_rest["id"] == posted.json()["id"]
    assert from_webhook is not None
    assert from_webhook["body"] == from_rest["body"] == TEXT


def test_what_we_write_reads_back_as_written() -> None:
    text = "Outside the baseline: 6.0 h.\nPriced at EUR 510.00.\n\n[scopewatch change 12]"

    document = text_to_adf(text)

    assert [block["type"] for block in document["content"]] == ["paragraph", "paragraph"]
    assert adf_to_text(document) == text
    assert adf_to_text(text_to_adf(text.replace("\n", "\r\n"))) == text


def test_blocks_of_any_kind_are_apart_by_a_blank_line() -> None:
    def paragraph(text: str) -> dict[str, Any]:
        return {"type": "paragraph", "content": [{"type": "text", "text": text}]}

    document = {
        "type": "doc",
        "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Q"}]},
            {
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [paragraph("one")]},
                    {"type": "listItem", "content": [paragraph("two")]},
                ],
            },
            {"type": "paragraph", "content": []},
            # A custom emoji has no character: it reads as its short name.
            {"type": "paragraph", "content": [{"type": "emoji", "attrs": {"shortName": ":x1:"}}]},
        ],
    }

    assert adf_to_text(document) == "Q\n\none\n\ntwo\n\n:x1:"


def test_empty_and_unreadable_bodies_read_as_no_text() -> None:
    assert text_to_adf("") == {"type": "doc", "version": 1, "content": []}
    assert adf_to_text(text_to_adf("")) == ""
    assert adf_to_text(None) == adf_to_text([]) == adf_to_text({}) == ""
    assert comment_text(None) == ""
    assert comment_text("Data Center\r\nkeeps CRLF") == "Data Center\nkeeps CRLF"
