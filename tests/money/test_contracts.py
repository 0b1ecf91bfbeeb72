"""Each contract speaks its own burn: a golden digest section per contract type, from a real
mirror on SQLite and on PostgreSQL. The goldens were checked by hand:

- time_and_materials: 810.38 of the 1,000 cap billed (81 %), 189.62 left.
- fixed_price: the price, and half the planned hours (issue 2 of two 10 h issues) delivered.
- retainer in hours (10 h a month, carried over): December used 0.25 + 1.333… + 1.5 = 3.083 h,
  left 6.917 h, carried into January (16.917 h), of which 2 + 3 h are used: 11.917 h left. The
  Warranty hours count for neither. December and January are split on 1 January, inside a week.
- retainer in money (500 a month, no carry-over): December 250.40, January 559.98, 59.98 over.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update

from reports.render import render_text, subject
from service.digest.load import digest_for
from service.store import schema
from tests.money.money_support import MAPPING_TOML, money_mapping
from tests.money.test_money_history import seed

GOLDEN = Path(__file__).parent / "golden"
NO_RATE_CHANGE = (
    "[[projects.rate_changes]]\nfrom = 2027-01-01\ndeveloper = { billing = 99.99, cost = 60 }\n"
)
CONTRACTS = {
    "time_and_materials": MAPPING_TOML,
    "fixed_price": MAPPING_TOML.replace(
        'pm = ["pm@agency.example"]', 'pm = ["pm@agency.example"]\ncontract = "fixed_price"'
    ),
    "retainer_hours": MAPPING_TOML.replace(NO_RATE_CHANGE, "").replace(
        'pm = ["pm@agency.example"]',
        'pm = ["pm@agency.example"]\ncontract = "retainer"\n'
        "retainer = { hours_per_month = 10, carry_over = true }",
    ),
    "retainer_money": MAPPING_TOML.replace(
        'pm = ["pm@agency.example"]',
        'pm = ["pm@agency.example"]\ncontract = "retainer"\n'
        "retainer = { money_per_month = 500, carry_over = false }",
    ),
}


@pytest.mark.parametrize("contract", list(CONTRACTS))
def test_each_contract_has_its_golden_burn(engine, tmp_path, contract):
    assert NO_RATE_CHANGE in MAPPING_TOML
    mapping = money_mapping(tmp_path, CONTRACTS[contract])
    seed(engine)
    with engine.begin() as conn:  # issue 2 (10 h of the 20 h planned) is done
        conn.execute(
            update(schema.issues)
            .where(schema.issues.c.id == "2")
            .values(status="Done", status_category="done")
        )
    with engine.connect() as conn:
        digest = digest_for(conn, mapping, "MONEY", "2026-W53")
    section = digest["budget"]["contract"]
    golden = GOLDEN / f"{contract}.json"
    assert section == json.loads(golden.read_text(encoding="utf-8"))
    # The headline speaks the contract's language: the subject and the opening lines the client
    # reads first (a fixed price is a price and a share delivered, never the hours' cost).
    opening = render_text(digest).split("\n\n")[:3]
    told = "\n".join([subject(digest), *opening]) + "\n"
    assert told == (GOLDEN / f"{contract}.headline.txt").read_text(encoding="utf-8")


def test_a_fixed_price_explains_its_earned_value_as_a_price(engine, tmp_path):
    mapping = money_mapping(tmp_path, CONTRACTS["fixed_price"])
    seed(engine)
    with engine.connect() as conn:
        explain = digest_for(conn, mapping, "MONEY", "2026-W53")["budget"]["evm"]["explain"]
    assert explain["bac"] == "The fixed price, including approved change requests, is €1,000."
    assert explain["ac"] == "Work worth €810.38 at the agreed rates has been done so far."
    assert explain["eac"].endswith("the price stays €1,000.")
