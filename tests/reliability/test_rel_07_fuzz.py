"""Case 7: 10,000 generated requests at every public surface of a real `scopewatch serve`.

The webhook, the admin API (list, decision, digest) and the feedback form each get a share of the
10,000 examples; every answer must be 2xx or 4xx (or werkzeug's 308 to a path whose `%2F` made a
`//`), and after each surface the same process must still be up, healthy, and must not have logged a
single unhandled error. `tests/service/test_intake_fuzz.py`
fuzzes the webhook in-process; here the bytes cross a real socket, with chunked bodies, non-ASCII
header bytes, query strings and header combinations a test client never produces.

Speed: a 10,000-example budget must stay under a minute, so strategies are flat (recursive JSON
costs hypothesis several ms an example; the handlers' defensive getters are fuzzed deeply
in-process already), requests go over a raw keep-alive connection from a thread that sends one
example while hypothesis draws the next, and the server's database sits in memory-backed storage
when the machine has it (its durability is not under test here).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import create_app
from service.digest.links import make_token
from service.intake.signature import sign
from service.store import schema
from service.store.clock import frozen_clock
from service.store.engine import make_engine
from service.store.migrate import upgrade
from tests.reliability.harness import RawHttp, ServeProcess
from tests.support import ADMIN, NOW, SECRET, app_settings

SHARES = {
    "webhook": 3000,
    "scope-changes": 1500,
    "decision": 2000,
    "digest": 1000,
    "feedback": 2500,
}
assert sum(SHARES.values()) == 10_000
STATUSES: dict[str, Counter[int]] = {name: Counter() for name in SHARES}
MAX_BODY = 4096
FLAGGED_KEY = "ACME-700"  # a scope change the server holds, so some decisions really apply

# --- strategies shared by every surface -------------------------------------------------------

# Characters that break things: markup, quotes, escapes, NUL, CR/LF, RTL override, astral planes.
NASTY = "aZ09 -_./:;=,?#&%+<>\"'`\\\u00e9\u00df\u00ff\u4e2d\u202e\U0001f600\x00\r\n\t"
words = st.text(alphabet=NASTY, max_size=16)
keys = st.sampled_from(["decision", "note", "happy", "score", "comment", "webhookEvent"]) | words
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | words
json_values = (
    scalars
    | st.lists(scalars, max_size=3)
    | st.dictionaries(keys, scalars | st.dictionaries(keys, scalars, max_size=3), max_size=4)
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.just(b""),
    st.binary(max_size=120),
    # Over the limit: drawn as a length, since hypothesis is slow at drawing kilobytes.
    st.integers(MAX_BODY + 1, MAX_BODY + 50).map(lambda n: b'{"webhookEvent": "x"' + b" " * n),
)
# Header values as bytes on the wire: UTF-8, Latin-1 and stray high bytes, never CR/LF.
header_bytes = st.one_of(
    st.text(
        alphabet=NASTY.replace("\r", "").replace("\n", "").replace("\x00", ""), max_size=30
    ).map(lambda t: t.encode()),
    st.binary(max_size=12).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
)
content_types = st.sampled_from(
    [
        b"application/json",
        b"application/json; charset=UTF-8",
        b"text/plain",
        b"application/x-www-form-urlencoded",
        b"multipart/form-data; boundary=x",
        b"",
    ]
)
# Path segments as they go on the wire: escaped, plus a few escapes that mean trouble decoded.
segments = st.sampled_from(["NOPE", "acme", "..", "%00", "%2F", "%0d%0a", "A" * 300]) | words.map(
    lambda s: quote(s, safe="") or "x"
)
projects = st.sampled_from(["ACME", "ACME", "BETA"]) | segments
authorizations = (
    st.sampled_from(
        [
            None,
            f"Bearer {ADMIN}".encode(),
            f"Bearer {ADMIN}".encode(),  # the good token deserves more examples than any wrong one
            f"Bearer {ADMIN}".encode(),
            b"Bearer wrong",
            f"Bearer {ADMIN[:-1]}".encode(),
            f"bearer {ADMIN}".encode(),
            b"Basic YWRtaW46YWRtaW4=",
            b"",
            b"Bearer",
        ]
    )
    | header_bytes.map(lambda b: b"Bearer " + b)
)
queries = st.dictionaries(words, words, max_size=3).map(lambda q: urlencode(q))


def fuzz_settings(surface: str) -> Any:
    return settings(
        max_examples=SHARES[surface],
        deadline=None,
        database=None,
        derandomize=True,  # the same 10,000 requests every run
        suppress_health_check=list(HealthCheck),
    )


def with_query(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


# --- one server for the whole file -----------------------------------------------------------


def _scratch_dir() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="scopewatch-fuzz-", dir=shm if shm.is_dir() else None))


def _seed_scope_change(url: str) -> None:
    engine = make_engine(url)
    now = datetime(2026, 11, 18, 9, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            schema.scope_changes.insert().values(
                project_key="ACME", issue_id="70700", key=FLAGGED_KEY, summary="Fuzzed change",
                issue_type="Story", created=now, detected_at=now, hours=8, hours_source="default",
                cost=680, currency="EUR", schedule_days=0.3,
            )
        )  # fmt: skip
    engine.dispose()


@pytest.fixture(scope="module")
def server() -> Iterator[ServeProcess]:
    scratch = _scratch_dir()
    url = f"sqlite:///{scratch / 'scopewatch.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    _seed_scope_change(url)
    try:
        with ServeProcess(url, SCOPEWATCH_MAX_BODY=str(MAX_BODY)) as running:
            yield running
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True)
class Shot:
    """One generated request, kept whole so that a failure can be replayed byte for byte."""

    surface: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str | bytes] = field(default_factory=dict)
    chunked: bool = False


class Pipeline:
    """Sends generated requests from a background thread while hypothesis draws the next ones.

    Drawing an example and serving it cost about the same; overlapping the two halves the run.
    One thread and one connection keep the server's view strictly ordered, so every run sends
    the same requests in the same order and gets the same answers.
    """

    def __init__(self, port: int) -> None:
        self.wire = RawHttp(port)
        self.queue: queue.Queue[Shot | None] = queue.Queue(maxsize=256)
        self.failures: list[str] = []
        self.thread = threading.Thread(target=self._run, name="fuzz-sender", daemon=True)
        self.thread.start()

    def send(self, shot: Shot) -> None:
        self.queue.put(shot)

    def drain(self) -> list[str]:
        """Waits for every queued request; returns the failures (5xx or a dropped connection)."""
        self.queue.join()
        failures, self.failures = self.failures, []
        return failures

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=60)
        self.wire.close()

    def _run(self) -> None:
        while (shot := self.queue.get()) is not None:
            try:
                self._fire(shot)
            finally:
                self.queue.task_done()
        self.queue.task_done()

    def _fire(self, shot: Shot) -> None:
        try:
            status, answer = self.wire.request(
                shot.method, shot.path, shot.body, shot.headers, chunked=shot.chunked
            )
        except OSError as exc:  # ConnectionError, timeouts: the server dropped or died
            self.failures.append(f"{shot!r}: {type(exc).__name__}")
            return
        STATUSES[shot.surface][status] += 1
        # 3xx is werkzeug's canonical redirect for a path whose %2F decodes to "//"; harmless.
        if status >= 500 or status < 200:
            self.failures.append(f"{shot!r}: {status} {answer[:200]!r}")


@pytest.fixture(scope="module")
def pipeline(server: ServeProcess) -> Iterator[Pipeline]:
    sender = Pipeline(server.port)
    yield sender
    sender.close()


def admin_headers(auth: bytes | None, extra: dict[str, str | bytes]) -> dict[str, str | bytes]:
    headers = dict(extra)
    if auth is not None:
        headers["Authorization"] = auth
    return headers


def finish(
    server: ServeProcess, pipeline: Pipeline, figures: dict[str, Any], surface: str
) -> Counter[int]:
    """Waits for the surface's requests and checks what the fuzzing must leave: every example
    answered (no 5xx, no dropped connection), and the same process still up, healthy, and
    without an unhandled error in its log. Each surface checks this itself, so the tests hold in
    any order, alone or together."""
    failures = pipeline.drain()
    assert failures == [], f"{len(failures)} failures, first ones: {failures[:5]}"
    counts = STATUSES[surface]
    figures.update(
        requests=sum(counts.values()),
        statuses=dict(sorted(counts.items())),
        server_errors=sum(n for status, n in counts.items() if status >= 500),
    )
    assert sum(counts.values()) == SHARES[surface]  # every example reached the server
    assert server.alive()
    assert server.http.get(server.url + "/healthz", timeout=5).status_code == 200
    assert server.http.get(server.url + "/readyz", timeout=5).status_code == 200
    log = server.stderr()
    assert '"unhandled error' not in log
    figures.update(log_lines=len(log.splitlines()))
    return counts


# --- the surfaces ---------------------------------------------------------------------------


def test_webhook_fuzz_never_5xx(
    server: ServeProcess, pipeline: Pipeline, figures: dict[str, Any]
) -> None:
    events = st.sampled_from(["jira:issue_created", "worklog_created", "comment_created", "", 7])
    jira_like = st.fixed_dictionaries(
        {"webhookEvent": events}, optional={"timestamp": scalars, "issue": json_values}
    ).map(lambda d: json.dumps(d).encode())
    signatures = st.sampled_from(["good", "good", "missing", "garbage", "token", "bad-token"])

    @fuzz_settings("webhook")
    @given(
        body=jira_like | bodies,
        sig=signatures,
        # Half JSON, so that most deliveries get past the cheap checks to signature and store.
        ctype=st.just(b"application/json; charset=UTF-8") | content_types,
        delivery=header_bytes,
        retry=st.sampled_from([None, b"1", b"x"]),
        query=queries,
        chunked=st.booleans(),
    )
    def deliver(
        body: bytes,
        sig: str,
        ctype: bytes,
        delivery: bytes,
        retry: bytes | None,
        query: str,
        chunked: bool,
    ) -> None:
        headers: dict[str, str | bytes] = {
            "Content-Type": ctype,
            "X-Atlassian-Webhook-Identifier": delivery,
        }
        if sig == "good":
            headers["X-Hub-Signature"] = sign(SECRET, body)
        elif sig == "garbage":
            headers["X-Hub-Signature"] = "sha256=" + "0" * 64
        elif sig in {"token", "bad-token"}:
            query = urlencode({"token": SECRET if sig == "token" else "nope"})
        if retry is not None:
            headers["X-Atlassian-Webhook-Retry"] = retry
        path = with_query("/webhooks/jira", query)
        pipeline.send(Shot("webhook", "POST", path, body, headers, chunked))

    deliver()
    counts = finish(server, pipeline, figures, "webhook")
    assert {200, 202, 400, 401, 413, 415} <= set(counts)


def test_admin_scope_changes_fuzz_never_5xx(
    server: ServeProcess, pipeline: Pipeline, figures: dict[str, Any]
) -> None:

    @fuzz_settings("scope-changes")
    @given(project=projects, auth=authorizations, query=queries, accept=header_bytes)
    def list_changes(project: str, auth: bytes | None, query: str, accept: bytes) -> None:
        path = with_query(f"/api/projects/{project}/scope-changes", query)
        headers = admin_headers(auth, {"Accept": accept})
        pipeline.send(Shot("scope-changes", "GET", path, None, headers))

    list_changes()
    counts = finish(server, pipeline, figures, "scope-changes")
    assert {200, 401, 404} <= set(counts)


def test_admin_decision_fuzz_never_5xx(
    server: ServeProcess, pipeline: Pipeline, figures: dict[str, Any]
) -> None:
    decisions = st.fixed_dictionaries(
        {"decision": st.sampled_from(["approved", "rejected", "pending", "", None, 1]) | words},
        optional={"note": scalars | json_values},
    ).map(lambda d: json.dumps(d).encode())
    issues = st.sampled_from([FLAGGED_KEY, FLAGGED_KEY.lower(), "ACME-1"]) | segments
    # Half the examples are well-formed requests whose decision and note vary, so decisions
    # really flip back and forth; the other half vary everything.
    well_formed = st.fixed_dictionaries(
        {
            "project": st.just("ACME"),
            "issue": st.just(FLAGGED_KEY),
            "auth": st.just(f"Bearer {ADMIN}".encode()),
            "body": decisions,
            "ctype": st.just(b"application/json"),
            "chunked": st.booleans(),
        }
    )
    anything = st.fixed_dictionaries(
        {
            "project": projects,
            "issue": issues,
            "auth": authorizations,
            "body": decisions | bodies,
            "ctype": content_types,
            "chunked": st.booleans(),
        }
    )

    @fuzz_settings("decision")
    @given(request=well_formed | anything)
    def decide(request: dict[str, Any]) -> None:
        path = f"/api/projects/{request['project']}/scope-changes/{request['issue']}/decision"
        headers = admin_headers(request["auth"], {"Content-Type": request["ctype"]})
        pipeline.send(Shot("decision", "POST", path, request["body"], headers, request["chunked"]))

    decide()
    counts = finish(server, pipeline, figures, "decision")
    assert {200, 400, 401, 404, 415} <= set(counts)


def test_admin_digest_fuzz_never_5xx(
    server: ServeProcess, pipeline: Pipeline, figures: dict[str, Any]
) -> None:
    # A real digest costs a build (and charts for html): one valid week among many bad ones
    # keeps the builds to a few dozen. Far-off years are left to the dedicated tests below.
    weeks = st.sampled_from(
        ["2026-W47", "2026-W54", "2026-W00", "2026-W1", "2026W47", "0000-W01", "2026-w47", ""]
    ) | words.map(lambda w: quote(w, safe=""))
    formats = st.sampled_from(["json", "text", "html", "eml", "pdf", "", "JSON"]) | words.map(
        lambda w: quote(w, safe="")
    )

    @fuzz_settings("digest")
    @given(
        project=projects, auth=authorizations, week=weeks, fmt=formats | st.none(), query=queries
    )
    def digest(project: str, auth: bytes | None, week: str, fmt: str | None, query: str) -> None:
        params = [f"week={week}"]
        params += [f"format={fmt}"] if fmt is not None else []
        params += [query] if query else []
        path = with_query(f"/api/projects/{project}/digest", "&".join(params))
        pipeline.send(Shot("digest", "GET", path, None, admin_headers(auth, {})))

    digest()
    counts = finish(server, pipeline, figures, "digest")
    assert {200, 400, 401, 404} <= set(counts)


def _feedback_links() -> tuple[str, st.SearchStrategy[str]]:
    """A good link (signed as the server signs them), and good, stale, tampered and made-up ones."""
    key = hmac.new(SECRET.encode(), b"scopewatch-feedback-links", hashlib.sha256).hexdigest()
    # The server is another process on the wall clock: a link it accepts is signed just now.
    now = datetime.now(UTC)
    good = make_token(key, "ACME", "2026-W47", "fuzz-nonce-1", now=now)
    signed_long_ago = datetime(2026, 1, 5, tzinfo=UTC)
    stale = make_token(key, "ACME", "2026-W40", "fuzz-nonce-2", now=signed_long_ago)
    forged = make_token("guess", "ACME", "2026-W47", "fuzz-nonce-3", now=now)
    payload, stamp, signature = good.split(".")
    tokens = st.sampled_from(
        [good, good, stale, forged, f"{payload}.{stamp}.{signature[::-1]}", good[:-3], "x" * 200]
    ) | words.map(lambda w: quote(w, safe="") or "x")
    return good, tokens


def test_feedback_form_fuzz_never_5xx(
    server: ServeProcess, pipeline: Pipeline, figures: dict[str, Any]
) -> None:
    good, tokens = _feedback_links()
    answers = st.fixed_dictionaries(
        {},
        optional={
            "happy": st.sampled_from(["yes", "no", "maybe", ""]) | words,
            "score": st.sampled_from(["1", "10", "0", "11", "-1", "7.5", "", "\u0663"]) | words,
            "comment": words | st.integers(1990, 2010).map(lambda n: "c" * n),
        },
    ).map(lambda form: urlencode(form).encode())
    # Some answers are valid, so the link is really answered once and then refused (409).
    valid_answers = st.fixed_dictionaries(
        {
            "happy": st.sampled_from(["yes", "no"]),
            "score": st.integers(1, 10).map(str),
            "comment": words,
        }
    ).map(lambda form: urlencode(form).encode())
    form_type = b"application/x-www-form-urlencoded"
    well_formed = st.fixed_dictionaries(
        {
            "token": st.just(good),
            "method": st.just("POST"),
            "body": valid_answers,
            "ctype": st.just(form_type),
        }
    )
    anything = st.fixed_dictionaries(
        {
            "token": tokens,
            "method": st.sampled_from(["GET", "POST", "POST"]),
            "body": answers | bodies,
            "ctype": st.just(form_type) | content_types,
        }
    )

    @fuzz_settings("feedback")
    @given(request=well_formed | anything)
    def answer(request: dict[str, Any]) -> None:
        path = f"/feedback/{request['token']}"
        if request["method"] == "GET":
            pipeline.send(Shot("feedback", "GET", path))
        else:
            headers: dict[str, str | bytes] = {"Content-Type": request["ctype"]}
            pipeline.send(Shot("feedback", "POST", path, request["body"], headers))

    answer()
    counts = finish(server, pipeline, figures, "feedback")
    assert {200, 400, 409} <= set(counts)


# --- what the fuzzing found ---------------------------------------------------------------------


def test_weeks_at_the_edge_of_the_calendar_or_far_from_the_project_are_a_400(
    tmp_path: Path, figures: dict[str, Any]
) -> None:
    """Found by this fuzz: 9999-W52 and 0001-W01 overflowed datetime (a 500), and far-off weeks
    took tens of seconds to build. Fixed in reports/period.py and service/digest/build.py."""
    # In-process, so that a regression's 500 does not land in the shared server's log.
    url = f"sqlite:///{tmp_path / 'scopewatch.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(app_settings(url), clock=frozen_clock(NOW))
    client = app.test_client()  # not app.testing: errors become 500s, as in production
    headers = {"Authorization": f"Bearer {ADMIN}"}
    weeks = ("9999-W52", "0001-W01", "2999-W52", "1970-W01", "2030-W01")
    started = time.monotonic()
    try:
        statuses = {
            week: client.get(f"/api/projects/ACME/digest?week={week}", headers=headers).status_code
            for week in weeks
        }
    finally:
        app.extensions["scopewatch"].engine.dispose()
    assert statuses == dict.fromkeys(weeks, 400)
    figures.update(refused_weeks=len(weeks), seconds_for_all=round(time.monotonic() - started, 2))
