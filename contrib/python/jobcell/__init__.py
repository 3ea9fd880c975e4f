"""jobcell: run jobs in isolated containers through the jobcell CLI.

Standard library only.  See README.md for the exit statuses and how they
map to results and exceptions.
"""

from .client import Jobcell
from .errors import JobcellError, JobExitError
from .results import CheckResult, Logs, RunResult, StartResult, VolumeGet, WaitResult

__all__ = [
    "Jobcell",
    "JobcellError",
    "JobExitError",
    "RunResult",
    "StartResult",
    "WaitResult",
    "Logs",
    "VolumeGet",
    "CheckResult",
    "EXIT_TIMEOUT",
    "EXIT_JOBCELL",
    "EXIT_NOEXEC",
    "EXIT_NOTFOUND",
]
__version__ = "0.2.0"

# jobcell's own exit statuses (jobcell(1), EXIT STATUS)
EXIT_TIMEOUT = 124
EXIT_JOBCELL = 125
EXIT_NOEXEC = 126
EXIT_NOTFOUND = 127
