"""What the jobcell client returns: plain objects over jobcell's records.

Each keeps the record it was made from (``record``) so that a field jobcell
adds later is there without a new release of this package.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, NamedTuple, Optional


@dataclass
class RunResult:
    """A job that ran (``Jobcell.run``).

    ``status`` is jobcell's exit status: the job's own, 124 after the
    timeout, 128+N after signal N.  ``stdout`` is the job's stdout, byte for
    byte; ``stderr`` is the job's stderr followed by jobcell's own notes
    (lines starting ``jobcell:``, such as the timeout note).
    """

    job: str
    status: int
    stdout: bytes
    stderr: bytes
    record: Dict[str, Any]
    ready: Optional[str] = None  # the container id --ready-fd reported, if asked

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def container(self) -> Optional[str]:
        return self.record.get("container")

    @property
    def job_status(self) -> Optional[int]:
        """The container's own exit status, as the engine reported it."""
        return self.record.get("job_status")

    @property
    def timed_out(self) -> bool:
        return bool(self.record.get("timed_out"))

    @property
    def oom_killed(self) -> bool:
        return bool(self.record.get("oom_killed"))

    @property
    def signal(self) -> int:
        """The first signal jobcell received while running the job (0: none)."""
        return int(self.record.get("signal") or 0)

    @property
    def warning(self) -> Optional[str]:
        return self.record.get("warning")

    @property
    def volume(self) -> Optional[str]:
        return self.record.get("volume")


@dataclass
class StartResult:
    """A started job (``Jobcell.start``): its container and, in volume mode,
    its volume."""

    job: str
    container: str
    volume: Optional[str]
    record: Dict[str, Any]


@dataclass
class WaitResult:
    """The end of a started job (``Jobcell.wait``): ``status`` is the job's
    exit status, or 124 when the wait's own timeout passed first (the job
    then still runs)."""

    job: str
    status: int
    timed_out: bool
    record: Dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == 0


class Logs(NamedTuple):
    stdout: bytes
    stderr: bytes


@dataclass
class VolumeGet:
    """``Jobcell.volume_get``: ``refused`` is true when jobcell refused a
    member of the volume (exit status 1); ``warnings`` are its lines."""

    refused: bool
    warnings: List[str] = field(default_factory=list)


@dataclass
class CheckResult:
    """``Jobcell.check``: ``ok`` when every promise is kept (exit 0);
    ``rows`` are the promises, each ``{"name", "state", "detail"}``."""

    ok: bool
    status: int
    rows: List[Dict[str, Any]]
    record: Dict[str, Any]
