"""Is the database migrated? Answered without loading Alembic.

Every command checks this before it touches a table, and `/readyz` on each probe; Alembic's script
directory costs ~0.3 s of imports to answer it. A migration file names its revision and the one it
revises as plain literals, so the head is the one revision nothing revises.
`tests/service/test_migrations.py` holds this to Alembic's own answer.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import Engine, inspect, text

VERSIONS = Path(__file__).with_name("migrations") / "versions"


def _literals(path: Path) -> dict[str, object]:
    """The module-level `name = <literal>` assignments of one migration file."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    found[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    return found


def head_revision() -> str | None:
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted(VERSIONS.glob("*.py")):
        names = _literals(path)
        if isinstance(names.get("revision"), str):
            revisions.add(str(names["revision"]))
        down = names.get("down_revision")
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, tuple | list):  # a merge revision revises several
            revised.update(str(d) for d in down)
    heads = revisions - revised
    if len(heads) > 1:
        raise RuntimeError(f"migrations have several heads: {sorted(heads)}")
    return next(iter(heads), None)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
