"""The one error type the user sees as a single ``error:`` line, and the stop request that is one."""

from __future__ import annotations


class BitbranchError(Exception):
    """An error the user can fix; the CLI prints its message in one line, without a traceback."""


class Interrupted(BitbranchError):
    """The process was asked to stop (SIGTERM, SIGHUP): raised where it is, so the running stage records
    ``failed at <stage>: interrupted by ...`` instead of leaving ``running <stage>`` behind."""
