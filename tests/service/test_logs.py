"""Structured logs: JSON lines with the delivery id and issue key, and no secret in them."""

from __future__ import annotations

import json
import logging

from service.logs import JsonFormatter, RedactSecrets


def test_a_log_line_is_json_with_its_context_and_masks_known_secrets():
    record = logging.LogRecord(
        "service.outbox.queue",
        logging.WARNING,
        __file__,
        1,
        "token %s refused",
        ("s3cret-token",),
        None,
    )
    record.delivery_id, record.issue_key = "d-42", "ACME-7"
    assert RedactSecrets(["s3cret-token"]).filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "token *** refused"
    assert (line["delivery_id"], line["issue_key"], line["level"]) == ("d-42", "ACME-7", "warning")


def test_a_refused_delivery_is_logged_with_its_delivery_id(jira, caplog):
    caplog.set_level(logging.WARNING, logger="service.web.webhooks")
    jira.post(b'{"no": "event"}', delivery_id="delivery-77")
    [record] = [r for r in caplog.records if r.name == "service.web.webhooks"]
    assert record.delivery_id == "delivery-77"
    assert "no webhookEvent" in record.getMessage()
