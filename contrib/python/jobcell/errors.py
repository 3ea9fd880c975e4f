"""Exceptions of the jobcell client.

jobcell reports its own failures twice: one line ``jobcell: error: ...`` on
stderr and, with ``--status-fd``, a record ``{"error": {...}, "exit_code": N}``.
The record is what this package trusts: on ``run`` the job's own stderr
shares jobcell's stderr, and a job could print a line that looks like
jobcell's.
"""

ERROR_PREFIX = "jobcell: error: "


class JobcellError(Exception):
    """jobcell failed, refused the request, or could not be run.

    ``status``: jobcell's exit status (125 for its own failures, 126 or 127
    when the job's command could not be executed or found), or None when
    jobcell itself could not be started.
    ``line``: jobcell's error line, ``jobcell: error: ...`` (from the record
    when there is one), or None.
    ``record``: the parsed failure record (a dict), or None.
    ``kind``, ``errno``, ``retry``: the record's error fields, when present.
    ``result``: for ``run``, the result of a job that ran but whose output
    could not be fetched; else None.
    """

    def __init__(self, status, line, record=None, result=None):
        self.status = status
        self.line = line
        self.record = record
        self.result = result
        err = (record or {}).get("error") or {}
        self.kind = err.get("kind")
        self.errno = err.get("errno")
        self.retry = bool(err.get("retry", False))
        text = line if line else "jobcell failed"
        if status is not None:
            text = "%s (exit status %d)" % (text, status)
        super().__init__(text)

    @property
    def message(self):
        """The error line without its ``jobcell: error: `` prefix."""
        if self.line and self.line.startswith(ERROR_PREFIX):
            return self.line[len(ERROR_PREFIX):]
        return self.line


class JobExitError(Exception):
    """The job ran and exited nonzero (or timed out), and the caller asked
    for that to be an error (``check=True``).  ``result`` holds everything
    ``run`` or ``wait`` would have returned; ``status`` is its exit status."""

    def __init__(self, result):
        self.result = result
        self.status = result.status
        what = "timed out" if getattr(result, "timed_out", False) else (
            "exited with status %d" % result.status)
        super().__init__("job `%s` %s" % (result.job, what))
