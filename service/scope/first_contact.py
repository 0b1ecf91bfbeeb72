"""What a mapping's `baseline =` date would do on first contact with a Jira that has history.

A date baseline flags every issue created after it. Set at the project's start and connected
months later, it flags (and, once live, labels and comments in the client's Jira) all the work
done since, kickoff work included. `mappings check` asks Jira how many issues that would be and
warns above a handful, before anything is flagged.
"""

from __future__ import annotations

import math
from datetime import datetime

from mappings.model import Project
from service.jira.client import JiraClient

HANDFUL = 5  # more existing issues than this flagged on day one is a warning


def created_after_jql(project: Project, now: datetime) -> str | None:
    """Issues of the project the date would flag: created after it, of a type that counts.

    The date is sent as a period before now ("-1234m"): an absolute JQL date is read in the
    searching user's time zone, a period means the same instant everywhere.
    """
    if project.baseline is None:
        return None
    minutes = max(0, math.floor((now - project.baseline).total_seconds() / 60))
    jql = f'project = "{project.key}" AND created > "-{minutes}m"'
    if project.exclude_types:
        types = ", ".join(f'"{t}"' for t in project.exclude_types)
        jql += f" AND issuetype not in ({types})"
    return jql


def baseline_date_warning(client: JiraClient, project: Project, now: datetime) -> str | None:
    """A warning when the date would flag more than a handful of existing issues, else None."""
    jql = created_after_jql(project, now)
    if jql is None or project.baseline is None:
        return None
    flagged = client.count(jql)
    if flagged <= HANDFUL:
        return None
    return (
        f"baseline = {project.baseline.isoformat()} would flag {flagged} existing issues created "
        "after it as scope changes on first contact; if they are agreed work, capture a baseline "
        f"first (`scopewatch baseline capture --project {project.key}`, which takes precedence "
        "over the date) or move the date"
    )
