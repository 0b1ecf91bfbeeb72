"""`scopewatch`, the command line: parse, call the packages below, print, exit."""

from service.cli.commands import main
from service.cli.reprice import attach as _attach_reprice

# Commands in modules of their own use the helpers of `commands`, so they join `main` here.
_attach_reprice(main)

__all__ = ["main"]
