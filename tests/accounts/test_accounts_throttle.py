"""The login throttle: five wrong passwords lock that e-mail for 15 minutes, then it opens again."""

from __future__ import annotations

from datetime import timedelta

from service.accounts.users import add_user, authenticate
from service.store.engine import make_engine
from tests.support import NOW

PASSWORD = "correct horse battery"


def test_the_lock_lifts_after_fifteen_minutes_and_a_success_clears_the_count(sqlite_url: str):
    engine = make_engine(sqlite_url)
    try:
        add_user(engine, "pm@agency.example", "pm", PASSWORD, now=NOW)
        for minute in range(5):
            at = NOW + timedelta(minutes=minute)
            result = authenticate(engine, "PM@agency.example", "guess", now=at)
            assert result.refused == "bad-credentials"
        locked_at = NOW + timedelta(minutes=18)  # 14 minutes after the fifth failure
        assert authenticate(engine, "pm@agency.example", PASSWORD, now=locked_at).refused == (
            "throttled"
        )
        opened = authenticate(
            engine, "pm@agency.example", PASSWORD, now=NOW + timedelta(minutes=20)
        )
        assert opened.user is not None and opened.user.email == "pm@agency.example"
        # The count started again from nothing: four more wrong guesses do not lock.
        for minute in range(21, 25):
            authenticate(engine, "pm@agency.example", "guess", now=NOW + timedelta(minutes=minute))
        later = NOW + timedelta(minutes=25)
        assert authenticate(engine, "pm@agency.example", PASSWORD, now=later).user is not None
    finally:
        engine.dispose()
