"""The local mirror of Jira: the worker, one handler per event, reconcile, the worklog roll-up."""
