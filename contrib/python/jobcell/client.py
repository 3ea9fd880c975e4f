"""The jobcell CLI driven from Python: argv lists only, records on a
descriptor of their own.

Every call runs the jobcell binary with ``--status-fd N``, N a temporary
file handed over with ``pass_fds``: the records never share a stream with a
job's output, and a record of any size cannot fill a pipe while the job's
output is being read.  No shell is ever involved; names that come from a
request (a job, a volume) are passed where jobcell reads them as names and
never as options (``--job NAME``, operands after ``--``).
"""

import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import ERROR_PREFIX, JobcellError, JobExitError
from .results import CheckResult, Logs, RunResult, StartResult, VolumeGet, WaitResult

Duration = Union[int, float, str]
Pairs = Union[Mapping[str, str], Iterable[Tuple[str, str]]]

# how long a jobcell that was sent SIGTERM (the caller was interrupted) may
# take to stop its job and remove the container before it is killed
_STOP_WAIT = 60


def _duration(value: Duration) -> str:
    """Seconds (int or float) or a jobcell duration string (``"90s"``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("a duration is seconds (int or float) or a string such as '90s'")
    if value < 0 or value != value or value == math.inf:
        raise ValueError("duration %r: not a finite number of seconds >= 0" % (value,))
    if value == 0:
        return "0"
    # rounded up: a tiny positive limit must not become 0, "no limit"
    ms = math.ceil(value * 1000)
    return "%ds" % (ms // 1000) if ms % 1000 == 0 else "%dms" % ms


def _pairs(value: Optional[Pairs]) -> List[Tuple[str, str]]:
    if value is None:
        return []
    items = value.items() if isinstance(value, Mapping) else value
    out = []
    for k, v in items:
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError("names and values must be strings: %r=%r" % (k, v))
        out.append((k, v))
    return out


def _argv_list(cmd: Optional[Sequence[str]], what: str) -> List[str]:
    if cmd is None:
        return []
    if isinstance(cmd, (str, bytes)):
        # a string would be one word to jobcell; refused so that nobody
        # expects a shell to split it
        raise TypeError("%s must be a list of arguments, not a string" % what)
    out = list(cmd)
    for a in out:
        if not isinstance(a, str):
            raise TypeError("%s: argument %r is not a string" % (what, a))
    return out


def _transfer(items: Iterable[Union[str, Tuple[str, str]]], what: str) -> List[str]:
    """``SRC`` or ``SRC:DEST`` strings, or ``(src, dest)`` pairs."""
    out = []
    for it in items:
        if isinstance(it, str):
            out.append(it)
            continue
        src, dest = it
        if ":" in src:
            # jobcell splits at the first ':': the pair would change meaning
            raise ValueError("%s: source %r holds ':'" % (what, src))
        out.append("%s:%s" % (src, dest))
    return out


def _records(data: bytes, status: int) -> List[Any]:
    recs = []
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            recs.append(json.loads(raw.decode("ascii")))
        except (UnicodeDecodeError, ValueError) as e:
            raise JobcellError(status, "%sunreadable record %r: %s" % (ERROR_PREFIX, raw[:200], e))
    return recs


def _stderr_line(stderr: bytes) -> Optional[str]:
    """jobcell's last error line, for commands whose stderr is jobcell's
    alone."""
    for raw in reversed(stderr.decode("utf-8", "replace").splitlines()):
        if raw.startswith(ERROR_PREFIX):
            return raw
    return None


def _failure(recs: List[Any]) -> Optional[Dict[str, Any]]:
    """The record that carries an error object, if any (check's record has
    ``"error": null`` when it succeeded)."""
    for r in recs:
        if isinstance(r, dict) and isinstance(r.get("error"), dict):
            return r
    return None


def _line_of(rec: Optional[Dict[str, Any]]) -> Optional[str]:
    if rec and isinstance(rec.get("error"), dict):
        return ERROR_PREFIX + str(rec["error"].get("message", ""))
    return None


class _Call:
    """One finished jobcell process."""

    def __init__(self, status: int, stdout: bytes, stderr: bytes, records: List[Any]):
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.records = records

    def raise_failure(self, stderr_is_jobcells: bool = True) -> None:
        """JobcellError when jobcell reported a failure: a record with an
        error object, or status 125 with no record at all (jobcell could not
        even open the record descriptor)."""
        fail = _failure(self.records)
        if fail is not None:
            raise JobcellError(int(fail.get("exit_code", self.status)), _line_of(fail), fail)
        if self.status == 125 and not self.records:
            line = _stderr_line(self.stderr) if stderr_is_jobcells else None
            raise JobcellError(125, line)

    def record(self) -> Dict[str, Any]:
        if not self.records or not isinstance(self.records[0], (dict, list)):
            raise JobcellError(self.status, ERROR_PREFIX + "no record on the status descriptor")
        return self.records[0]


class Jobcell:
    """A jobcell site, reached through the jobcell binary.

    ``binary``: the jobcell executable (default ``$JOBCELL_BIN``, else
    ``jobcell`` on PATH).  ``config``: a site file (``-c FILE``), or
    ``site``: a site name (``--site NAME``, from ``$JOBCELL_CONFIG_DIR``).
    ``environ``: the environment jobcell runs in (default: this process's);
    the variables a site's ``[job] pass_env`` hands to jobs come from here,
    never from argv.  ``cwd``: jobcell's working directory, against which
    ``[volume] transfer_dir`` (and so ``inputs``, ``output`` and the volume
    transfers) is resolved when that key is empty.
    """

    def __init__(self, binary: Optional[str] = None, *, config: Optional[str] = None,
                 site: Optional[str] = None, environ: Optional[Mapping[str, str]] = None,
                 cwd: Optional[str] = None):
        if config is not None and site is not None:
            raise ValueError("config and site exclude each other")
        self.binary = binary or os.environ.get("JOBCELL_BIN") or shutil.which("jobcell") or "jobcell"
        self.config = config
        self.site = site
        self.environ = dict(environ) if environ is not None else None
        self.cwd = cwd

    # ---- the one way a process is run ----

    def _globals(self) -> List[str]:
        if self.config is not None:
            return ["-c", self.config]
        if self.site is not None:
            return ["--site", self.site]
        return []

    def _exec(self, args: List[str], *, stdin: Optional[bytes] = None, cwd: Optional[str] = None,
              environ: Optional[Mapping[str, str]] = None,
              ready: Optional[Callable[[str], None]] = None,
              ready_box: Optional[list] = None) -> _Call:
        env = dict(self.environ if self.environ is not None else os.environ)
        if environ:
            env.update(_pairs(environ))
        with tempfile.TemporaryFile(prefix="jobcell-status-") as rec:
            fds = [rec.fileno()]
            head = [self.binary] + self._globals() + ["--status-fd", str(rec.fileno())]
            ready_r = ready_w = -1
            reader = None
            if ready_box is not None:
                ready_r, ready_w = os.pipe()
                fds.append(ready_w)
                # after the subcommand's name: --ready-fd is a run option
                args = args[:1] + ["--ready-fd", str(ready_w)] + args[1:]
            try:
                try:
                    proc = subprocess.Popen(
                        head + args, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=fds,
                        cwd=cwd if cwd is not None else self.cwd, env=env)
                except OSError as e:
                    raise JobcellError(None, "%scannot run `%s`: %s" % (ERROR_PREFIX, self.binary, e)) from e
                if ready_w >= 0:
                    os.close(ready_w)
                    ready_w = -1
                    reader = threading.Thread(target=self._read_ready, args=(ready_r, ready, ready_box),
                                              name="jobcell-ready", daemon=True)
                    reader.start()
                try:
                    out, err = proc.communicate(stdin)
                except BaseException:
                    # interrupted: jobcell stops the job and removes its
                    # container on SIGTERM; a SIGKILL would leave it
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.communicate(timeout=_STOP_WAIT)
                    except BaseException:
                        proc.kill()
                        proc.wait()
                    raise
            finally:
                if ready_w >= 0:
                    os.close(ready_w)
                if reader is not None:
                    reader.join()
                elif ready_r >= 0:
                    os.close(ready_r)
            rec.seek(0)
            data = rec.read()
        return _Call(proc.returncode, out, err, _records(data, proc.returncode))

    @staticmethod
    def _read_ready(fd: int, cb: Optional[Callable[[str], None]], box: list) -> None:
        """The --ready-fd line: the container id once it started, or end of
        file with no line when the run ended before any start."""
        chunks = []
        try:
            while True:
                b = os.read(fd, 4096)
                if not b:
                    break
                chunks.append(b)
                if b"\n" in b:
                    break
        finally:
            os.close(fd)
        line = b"".join(chunks).split(b"\n", 1)[0].decode("ascii", "replace")
        if not line:
            return
        box.append(line)
        if cb is not None:
            try:
                cb(line)
            except BaseException as e:  # re-raised by run once the job ended
                box.append(e)

    # ---- run, start, plan: a job request ----

    @staticmethod
    def _job_args(job: str, cmd, *, image=None, entrypoint=None, env=None, timeout=None,
                  tenant=None, run_id=None, inputs=(), output=None, keep=False,
                  mount_volumes=None, sets=None) -> List[str]:
        if not isinstance(job, str):
            raise TypeError("job must be a string")
        a: List[str] = []
        if image is not None:
            a += ["--image", image]
        if entrypoint is not None:
            a += ["--entrypoint", entrypoint]
        for k, v in _pairs(env):
            if "=" in k:
                raise ValueError("env name %r holds '='" % k)
            a += ["--env", "%s=%s" % (k, v)]
        if timeout is not None:
            a += ["--timeout", _duration(timeout)]
        if tenant is not None:
            a += ["--tenant", tenant]
        if run_id is not None:
            a += ["--run", run_id]
        for i in _transfer(inputs, "inputs"):
            a += ["--input", i]
        if output is not None:
            a += ["--output", output]
        if keep:
            a.append("--keep")
        for vol, path in _pairs(mount_volumes):
            if ":" in vol:
                raise ValueError("volume name %r holds ':'" % vol)
            a += ["--mount-volume", "%s:%s" % (vol, path)]
        for k, v in _pairs(sets):
            if "=" in k:
                raise ValueError("--set key %r holds '='" % k)
            a += ["--set", "%s=%s" % (k, v)]
        # the job's name as a name, never an option; its command after --
        return a + ["--job", job, "--"] + _argv_list(cmd, "cmd")

    def run(self, job: str, cmd: Optional[Sequence[str]] = None, *, image: Optional[str] = None,
            entrypoint: Optional[str] = None, env: Optional[Pairs] = None,
            timeout: Optional[Duration] = None, tenant: Optional[str] = None,
            run_id: Optional[str] = None, inputs: Iterable = (), output: Optional[str] = None,
            keep: bool = False, mount_volumes: Optional[Pairs] = None, sets: Optional[Pairs] = None,
            stdin: Optional[bytes] = None, ready: Optional[Callable[[str], None]] = None,
            check: bool = False, cwd: Optional[str] = None,
            environ: Optional[Mapping[str, str]] = None) -> RunResult:
        """Run ``job`` and wait for it (``jobcell run``).

        ``cmd``: the job's command as a list (default: the image's).
        ``env``: the job's variables, each passed as ``--env NAME=VALUE``
        (visible in jobcell's argv: secrets belong in ``environ`` and the
        site's ``[job] pass_env``).  ``timeout``: the wall-clock limit, in
        seconds or as a jobcell duration; past it jobcell stops the job,
        removes its container and the status is 124.  ``stdin``: bytes
        passed to the job's stdin (``run -i``), closed at their end.
        ``ready``: called with the container id once the container has
        started (``--ready-fd``), from a helper thread, before ``run``
        returns; an exception it raises is re-raised after the job ended.
        ``environ``: variables added to jobcell's own environment for this
        call.

        Returns a RunResult whatever the job's status; raises JobcellError
        when jobcell failed or refused (125), or could not execute or find
        the job's command (126, 127), and JobExitError when ``check`` is
        true and the status is not 0.
        """
        if stdin is not None and not isinstance(stdin, (bytes, bytearray, memoryview)):
            raise TypeError("stdin must be bytes")
        args = ["run"] + (["-i"] if stdin is not None else []) + self._job_args(
            job, cmd, image=image, entrypoint=entrypoint, env=env, timeout=timeout, tenant=tenant,
            run_id=run_id, inputs=inputs, output=output, keep=keep, mount_volumes=mount_volumes,
            sets=sets)
        box: list = []
        c = self._exec(args, stdin=bytes(stdin) if stdin is not None else None, cwd=cwd,
                       environ=environ, ready=ready, ready_box=box)
        ready_id = next((x for x in box if isinstance(x, str)), None)
        fail = _failure(c.records)
        run_rec = next((r for r in c.records if isinstance(r, dict) and "job_status" in r), None)
        if fail is not None:
            # a job that ran but whose output fetch failed still has a result
            result = None
            if run_rec is not None:
                result = RunResult(job, int(run_rec.get("exit_code", c.status)), c.stdout, c.stderr,
                                   run_rec, ready_id)
            raise JobcellError(int(fail.get("exit_code", c.status)), _line_of(fail), fail, result)
        if run_rec is None:
            # no record: jobcell could not even open it; the job's stderr
            # is not on this stream yet, so the line there is jobcell's
            raise JobcellError(c.status, _stderr_line(c.stderr))
        result = RunResult(job, c.status, c.stdout, c.stderr, run_rec, ready_id)
        for x in box:
            if isinstance(x, BaseException):
                raise x
        if check and result.status != 0:
            raise JobExitError(result)
        return result

    def start(self, job: str, cmd: Optional[Sequence[str]] = None, *, image: Optional[str] = None,
              entrypoint: Optional[str] = None, env: Optional[Pairs] = None,
              tenant: Optional[str] = None, run_id: Optional[str] = None, inputs: Iterable = (),
              keep: bool = False, mount_volumes: Optional[Pairs] = None,
              sets: Optional[Pairs] = None, cwd: Optional[str] = None,
              environ: Optional[Mapping[str, str]] = None) -> StartResult:
        """Start ``job`` and return once its container runs (``jobcell
        start``).  Nothing supervises it: ``wait``, ``stop``, ``logs`` and
        ``rm`` follow it, and ``gc`` removes it past the site's deadline."""
        c = self._exec(["start"] + self._job_args(
            job, cmd, image=image, entrypoint=entrypoint, env=env, tenant=tenant, run_id=run_id,
            inputs=inputs, keep=keep, mount_volumes=mount_volumes, sets=sets),
            cwd=cwd, environ=environ)
        c.raise_failure()
        r = c.record()
        return StartResult(job, r["container"], r.get("volume"), r)

    def plan(self, job: str, cmd: Optional[Sequence[str]] = None, **kw) -> Dict[str, Any]:
        """The engine's create request jobcell would send for this job
        (``jobcell plan``), parsed; contacts nothing.  Takes ``image``,
        ``entrypoint``, ``env``, ``timeout``, ``tenant``, ``run_id``,
        ``mount_volumes`` and ``sets`` as ``run`` does."""
        c = self._exec(["plan"] + self._job_args(job, cmd, **kw))
        c.raise_failure()
        return json.loads(c.stdout)

    # ---- started jobs ----

    def wait(self, job: str, *, timeout: Optional[Duration] = None,
             check: bool = False) -> WaitResult:
        """Wait for a started job to end (``jobcell wait``).  ``timeout``:
        give up after that long with status 124, leaving the job running."""
        a = ["wait"] + (["--timeout", _duration(timeout)] if timeout is not None else [])
        c = self._exec(a + ["--job", job])
        c.raise_failure()
        r = c.record()
        res = WaitResult(job, int(r.get("exit_code", c.status)), bool(r.get("timed_out")), r)
        if check and res.status != 0:
            raise JobExitError(res)
        return res

    def stop(self, job: str, *, grace: Optional[Duration] = None) -> None:
        """Stop a started job: its stop signal, SIGKILL after ``grace``.
        The container stays until ``rm``."""
        a = ["stop"] + (["--grace", _duration(grace)] if grace is not None else [])
        self._exec(a + ["--job", job]).raise_failure()

    def logs(self, job: str, *, follow: bool = False) -> Logs:
        """The job's output so far (or, with ``follow``, until it ends)."""
        c = self._exec(["logs"] + (["--follow"] if follow else []) + ["--job", job])
        c.raise_failure(stderr_is_jobcells=False)
        return Logs(c.stdout, c.stderr)

    def rm(self, job: str) -> None:
        """Remove the job's container, running or not, and its volume
        unless kept."""
        self._exec(["rm", "--job", job]).raise_failure()

    def ps(self, *, all: bool = False) -> List[Dict[str, Any]]:
        """The site's containers, one record each (running ones, or all)."""
        c = self._exec(["ps"] + (["--all"] if all else []))
        c.raise_failure()
        return list(c.record())

    def gc(self, *, older_than: Optional[Duration] = None, dry_run: bool = False,
           others_gone: bool = False) -> Dict[str, Any]:
        """Remove what no supervisor can still want; returns the record,
        whose ``items`` say what was (or, dry, would be) removed and why."""
        a = ["gc"]
        if older_than is not None:
            a += ["--older-than", _duration(older_than)]
        if dry_run:
            a.append("--dry-run")
        if others_gone:
            a.append("--others-gone")
        c = self._exec(a)
        fail = _failure(c.records)
        if fail is not None:
            decided = next((r for r in c.records if isinstance(r, dict) and "items" in r), None)
            raise JobcellError(int(fail.get("exit_code", c.status)), _line_of(fail), fail, decided)
        c.raise_failure()
        return c.record()

    # ---- volumes ----

    def volume_create(self, *, tenant: Optional[str] = None, run_id: Optional[str] = None) -> str:
        """A kept volume of the site; returns its name."""
        a = ["volume", "create"]
        if tenant is not None:
            a += ["--tenant", tenant]
        if run_id is not None:
            a += ["--run", run_id]
        c = self._exec(a)
        c.raise_failure()
        return c.record()["volume"]

    def volume_put(self, volume: str, *sources: Union[str, Tuple[str, str]],
                   cwd: Optional[str] = None) -> None:
        """Send files into the volume's root: each source ``SRC``,
        ``SRC:DEST`` or ``(src, dest)``, SRC relative beneath
        ``[volume] transfer_dir`` (or ``cwd``)."""
        if not sources:
            raise ValueError("volume_put needs at least one source")
        self._exec(["volume", "put", "--", volume] + _transfer(sources, "sources"),
                   cwd=cwd).raise_failure()

    def volume_get(self, volume: str, to: str, paths: Sequence[str] = (),
                   cwd: Optional[str] = None) -> VolumeGet:
        """Fetch the volume (or each of ``paths`` in it) into ``to``, a
        directory relative beneath ``[volume] transfer_dir`` (or ``cwd``).
        Members jobcell refuses are skipped; ``refused`` says so."""
        c = self._exec(["volume", "get", "--to", to, "--", volume] + _argv_list(paths, "paths"),
                       cwd=cwd)
        c.raise_failure()
        if c.status not in (0, 1):
            raise JobcellError(c.status, _stderr_line(c.stderr))
        warnings = [ln for ln in c.stderr.decode("utf-8", "replace").splitlines()
                    if ln.startswith("jobcell: warning: ")]
        return VolumeGet(c.status == 1, warnings)

    def volume_ls(self) -> List[Dict[str, Any]]:
        """The site's volumes, one record each."""
        c = self._exec(["volume", "ls"])
        c.raise_failure()
        return list(c.record())

    def volume_rm(self, *volumes: str) -> None:
        """Remove each volume, kept or not; the first failure stops."""
        if not volumes:
            raise ValueError("volume_rm needs at least one volume")
        self._exec(["volume", "rm", "--"] + list(volumes)).raise_failure()

    # ---- the site ----

    def check(self) -> CheckResult:
        """Prove the site's promises from inside a job (``jobcell check``).
        A broken promise is a result (``ok`` false, status 1), not an
        exception; jobcell failing to carry the check out raises."""
        c = self._exec(["check"])
        fail = _failure(c.records)
        if fail is not None:
            raise JobcellError(int(fail.get("exit_code", c.status)), _line_of(fail), fail)
        c.raise_failure()
        r = c.record()
        return CheckResult(bool(r.get("ok")), c.status, list(r.get("rows") or []), r)

    def version(self) -> str:
        """``jobcell version``'s line."""
        c = self._exec(["version"])
        c.raise_failure()
        return c.stdout.decode("utf-8", "replace").strip()
