"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py "service:create_app()"`.

SCOPEWATCH_BIND and SCOPEWATCH_WEB_WORKERS adjust it without editing the file.
"""

import multiprocessing
import os

bind = os.environ.get("SCOPEWATCH_BIND", "0.0.0.0:8080")  # noqa: S104 - inside a container
workers = int(os.environ.get("SCOPEWATCH_WEB_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "sync"
# Intake answers in milliseconds; a request still running after 30 s is stuck, not busy.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Bodies are bounded by SCOPEWATCH_MAX_BODY in the app; limit header abuse here.
limit_request_field_size = 16384
accesslog = "-"
errorlog = "-"
# %(U)s is the path WITHOUT the query string: the ?token= fallback carries the webhook secret.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms "%(a)s"'


def on_starting(server):  # noqa: ARG001 - gunicorn's hook signature
    """Application log lines as JSON, with known secrets masked, in every worker (inherited)."""
    from service.logs import configure_logging, secrets_from_env

    configure_logging(secrets_from_env())
