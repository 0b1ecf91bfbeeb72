"""`scopewatch`, the command line: parse, call the packages below, print, exit."""

from service.cli.commands import main

__all__ = ["main"]
