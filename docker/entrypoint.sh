#!/bin/sh
# The image's entry point: migrate, then run what was asked (default: the web under gunicorn).
set -eu
scopewatch db upgrade
if [ "$#" -eq 0 ] || [ "$1" = "web" ]; then
  exec gunicorn -c "${SCOPEWATCH_GUNICORN_CONF:-/app/gunicorn.conf.py}" "service:create_app()"
fi
exec scopewatch "$@"
