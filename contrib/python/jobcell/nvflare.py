"""NVFlare job launchers that run each server or client job (SJ/CJ) through
``jobcell run``.

Written against NVFlare 2.9's launcher API (nvflare/apis/job_launcher_spec.py):
a site lists one launcher in its resources.json; on ``BEFORE_JOB_LAUNCH`` the
launcher registers itself with ``add_launcher``, as NVFlare's
``DockerJobLauncher`` does, and ``launch_job`` returns a ``JobHandleSpec``.

Importing this module needs the ``nvflare`` package; the rest of ``jobcell``
does not.  docs/integrations.md (NVFlare) has the site files, the
resources.json and what the isolation gives and does not.

Return codes (``poll``; ``get_return_code`` then prefers the job's own
``_process_rc.txt`` unless this says infrastructure error, as it does for
every launcher)::

    still running                              UNKNOWN (127)
    terminate() was called                     ABORTED (9)
    jobcell failed or refused (125, a record
      with an error object, no record at all,
      or jobcell killed by a signal)           INFRASTRUCTURE_ERROR (104)
    jobcell could not execute / find the
      job's command (126 / 127, its record)    CONFIG_ERROR (103)
    timed out (124), killed (137, 143)         ABORTED (9)
    the job's own status                       0 SUCCESS, 9 ABORTED, any other
                                               EXECUTION_ERROR (1), as
                                               NVFlare's Docker and process
                                               launchers map it

A job that itself exits 125, 126 or 127 is told from jobcell's own status by
jobcell's run record, and is an execution error.
"""

import logging
import os
import re
import select
import signal
import subprocess
import tempfile
import threading
from abc import abstractmethod
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit, urlunsplit

from nvflare.apis.app_validation import AppValidationKey
from nvflare.apis.event_type import EventType
from nvflare.apis.fl_constant import FLContextKey, JobConstants
from nvflare.apis.fl_context import FLContext
from nvflare.apis.job_launcher_spec import (
    JobHandleSpec,
    JobLauncherSpec,
    JobProcessArgs,
    JobReturnCode,
    add_launcher,
)
from nvflare.apis.workspace import Workspace
from nvflare.utils.job_launcher_utils import (
    _docker_shm_size_to_bytes,
    get_client_job_args,
    get_credential_env,
    get_job_launcher_spec,
    get_portable_resource_spec,
    get_server_job_args,
    validate_docker_job_launcher_spec,
)

from .client import Jobcell, _failure, _records
from .errors import JobcellError

# jobcell's name rule (jobcell.ini(5), Value syntax): a job's name is its
# directory under the site workspace, so it must be the NVFlare job id itself
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_WORKSPACE_CHILDREN = ("startup", "local")


def job_name(job_id: Any) -> str:
    """The jobcell job name of an NVFlare job: the job id, which names the
    job's directory in the workspace.  jobcell names its container
    jobcell-SITE-JOB, SITE the jobcell site's [site] name, so a server and a
    client of one job on one host stay apart by their site files."""
    name = str(job_id) if job_id is not None else ""
    if not _NAME.fullmatch(name) or name.lower() in _WORKSPACE_CHILDREN:
        raise RuntimeError("job id %r is not a jobcell job name ([A-Za-z0-9][A-Za-z0-9_.-]*, "
                           "at most 64 characters, not startup or local)" % (name,))
    return name


def return_code(status: Optional[int], records: List[Any], terminated: bool = False) -> int:
    """NVFlare's return code for a finished ``jobcell run``: its exit
    status (negative: killed by that signal), the records of its status
    descriptor, and whether the launcher terminated it (see the module's
    table)."""
    if terminated:
        return JobReturnCode.ABORTED
    if status is None or status < 0:
        return JobReturnCode.INFRASTRUCTURE_ERROR
    fail = _failure(records)
    if fail is not None:
        code = fail.get("exit_code", status)
        if code in (126, 127) and "job_status" not in fail:
            return JobReturnCode.CONFIG_ERROR
        return JobReturnCode.INFRASTRUCTURE_ERROR
    run = next((r for r in records if isinstance(r, dict) and "job_status" in r), None)
    if run is None:
        # jobcell could not write its record: its own failure
        return JobReturnCode.INFRASTRUCTURE_ERROR
    if run.get("timed_out") or status == 124:
        return JobReturnCode.ABORTED
    job_status = run.get("job_status")
    if job_status in (128 + signal.SIGKILL, 128 + signal.SIGTERM):
        return JobReturnCode.ABORTED
    if job_status == 0:
        return JobReturnCode.SUCCESS
    if job_status == JobReturnCode.ABORTED:
        return JobReturnCode.ABORTED
    return JobReturnCode.EXECUTION_ERROR


class JobcellJobHandle(JobHandleSpec):
    """One ``jobcell run`` process.  ``poll`` and ``wait`` follow it;
    ``terminate`` sends it SIGTERM, on which jobcell stops the container
    (the image's stop signal, SIGKILL after [job] stop_grace) and removes
    it.  jobcell is never sent SIGKILL while it may hold a container, except
    after ``stop_wait`` seconds without an exit, and then ``jobcell rm``
    removes the job's container."""

    def __init__(self, proc: subprocess.Popen, status_file, job: str, client: Jobcell,
                 stop_wait: float = 120, logger: Optional[logging.Logger] = None):
        super().__init__()
        self.process = proc
        self.job = job
        self.container: Optional[str] = None
        self.record: Optional[Dict[str, Any]] = None
        self.status: Optional[int] = None
        self._status_file = status_file
        self._client = client
        self._stop_wait = stop_wait
        self._lock = threading.Lock()
        self._terminated = False
        self._rc: Optional[int] = None
        self.logger = logger or logging.getLogger(self.__class__.__name__)

    def _finish(self) -> int:
        """The return code once jobcell has exited (the caller saw it exit)."""
        with self._lock:
            if self._rc is not None:
                return self._rc
            status = self.process.returncode
            try:
                self._status_file.seek(0)
                recs = _records(self._status_file.read(), status if status is not None else 125)
            except (JobcellError, OSError, ValueError) as e:
                self.logger.error("jobcell job %s: unreadable status record: %s", self.job, e)
                recs = []
            finally:
                self._status_file.close()
            self.status = status
            self.record = next((r for r in recs if isinstance(r, dict)), None)
            if status is not None and status < 0 and not self._terminated:
                # killed by someone else: the container may still be there
                self._remove_container()
            fail = _failure(recs)
            if fail is not None:
                self.logger.error("jobcell job %s: jobcell: error: %s (status %s)", self.job,
                                  fail["error"].get("message"), status)
            self._rc = return_code(status, recs, self._terminated)
            return self._rc

    def _remove_container(self) -> None:
        try:
            self._client.rm(self.job)
        except JobcellError as e:
            self.logger.warning("jobcell job %s: rm after a killed jobcell: %s", self.job, e.line)

    def poll(self):
        """The return code, or UNKNOWN while the job runs."""
        if self.process.poll() is None:
            return JobReturnCode.UNKNOWN
        return self._finish()

    def wait(self):
        """Block until jobcell has exited (the job ended and its container
        is gone)."""
        self.process.wait()
        self._finish()

    def terminate(self):
        """Stop the job gracefully and wait until its container is removed;
        afterwards ``poll`` says ABORTED (unless the job had ended before)."""
        with self._lock:
            # a job that had ended already keeps its own return code
            if self._rc is None and self.process.poll() is None:
                self._terminated = True
        if self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=self._stop_wait)
            except subprocess.TimeoutExpired:
                self.logger.error("jobcell job %s: no exit %ss after SIGTERM: killing jobcell and "
                                  "removing the container", self.job, self._stop_wait)
                self.process.kill()
                self.process.wait()
                self._remove_container()
        self._finish()


class JobcellJobLauncher(JobLauncherSpec):
    """Runs NVFlare job processes through ``jobcell run`` on one jobcell site.

    Args:
        config: the jobcell site file (``-c``); or ``site``: its name
            (``--site``, from ``$JOBCELL_CONFIG_DIR``).
        binary: the jobcell executable (default ``$JOBCELL_BIN``, else
            ``jobcell`` on PATH).
        workspace: the NVFlare workspace as this process sees it; default the
            engine's workspace root.  It must be the directory the site
            file's ``[workspace] path`` names.
        mount_point: the site file's ``[workspace] mount_point``: paths in
            the job's arguments under ``workspace`` are rewritten beneath it.
        python_path: the job image's Python (a job may set
            ``launcher_spec[site]["docker"]["python_path"]``).
        parent_host: when set, the host of a tcp/stcp parent URL is replaced
            by it (the name the parent cell has on the site's ``[job]
            network``), as NVFlare's DockerJobLauncher uses the site's name.
        timeout: seconds to wait for the job's container to start; past it
            the job is terminated and its handle says ABORTED.
        stop_wait: seconds ``terminate`` waits for jobcell to stop and
            remove the container before it kills jobcell and runs ``jobcell
            rm``; keep it above the site's stop_grace plus twice [engine]
            timeout, after which jobcell gives up by itself (default 120:
            the defaults 10s and 30s make 70 s).
        job_env: variables given to every job (``--env``; never secrets:
            they are in jobcell's argv).

    The job credentials (NVFLARE_JOB_AUTH_TOKEN, NVFLARE_JOB_TOKEN_SIGNATURE,
    NVFLARE_JOB_SSID) go into jobcell's environment only; the site file
    lists them in ``[job] pass_env``.
    """

    def __init__(self, config: Optional[str] = None, site: Optional[str] = None,
                 binary: Optional[str] = None, workspace: Optional[str] = None,
                 mount_point: str = "/workspace", python_path: str = "/usr/local/bin/python",
                 parent_host: Optional[str] = None, timeout: float = 30, stop_wait: float = 120,
                 job_env: Optional[Mapping[str, str]] = None):
        super().__init__()
        self.logger = logging.getLogger(self.__class__.__name__)
        if (config is None) == (site is None):
            raise ValueError("give one of config (a site file) and site (a site name)")
        if not mount_point.startswith("/") or mount_point.rstrip("/") == "":
            raise ValueError("mount_point %r: an absolute path other than /" % (mount_point,))
        if not isinstance(python_path, str) or not python_path.strip():
            raise ValueError("python_path must be a non-empty string")
        self.client = Jobcell(binary, config=config, site=site)
        self.workspace = workspace
        self.mount_point = mount_point.rstrip("/")
        self.python_path = python_path
        self.parent_host = parent_host
        self.timeout = timeout
        self.stop_wait = stop_wait
        self.job_env = dict(job_env or {})

    def handle_event(self, event_type: str, fl_ctx: FLContext):
        # the site's one launcher registers for every job, as NVFlare's own do
        if event_type == EventType.BEFORE_JOB_LAUNCH:
            add_launcher(self, fl_ctx)

    @abstractmethod
    def get_module_arg_names(self) -> List[str]:
        """The JOB_PROCESS_ARGS names passed to the job module (the client's
        or the server's)."""

    # ---- the command ----

    def _in_container(self, workspace: str, value: str) -> str:
        """A path under the NVFlare workspace as the job sees it."""
        if value == workspace:
            return self.mount_point
        if value.startswith(workspace + "/"):
            return self.mount_point + value[len(workspace):]
        return value

    def _parent_url(self, job_args: dict) -> dict:
        entry = job_args.get(JobProcessArgs.PARENT_URL)
        if not self.parent_host or not entry:
            return job_args
        flag, url = entry
        parts = urlsplit(str(url))
        if parts.scheme not in ("tcp", "stcp") or not parts.port:
            raise RuntimeError("parent URL %r: parent_host needs tcp or stcp with a port" % (url,))
        out = dict(job_args)
        out[JobProcessArgs.PARENT_URL] = (flag, urlunsplit(
            (parts.scheme, "%s:%d" % (self.parent_host, parts.port), parts.path, parts.query,
             parts.fragment)))
        return out

    def build(self, job_meta: dict, fl_ctx: FLContext) -> Dict[str, Any]:
        """The request for one job, without running it: ``job``, ``argv``
        (jobcell's, after the global options), ``environ`` (what jobcell's
        environment adds: the credentials).  Raises RuntimeError on a job
        this launcher cannot run."""
        job = job_name(job_meta.get(JobConstants.JOB_ID))
        job_args = fl_ctx.get_prop(FLContextKey.JOB_PROCESS_ARGS)
        if not job_args:
            raise RuntimeError("missing %s in FLContext" % FLContextKey.JOB_PROCESS_ARGS)
        exe = job_args.get(JobProcessArgs.EXE_MODULE)
        if not exe:
            raise RuntimeError("missing %s in JOB_PROCESS_ARGS" % JobProcessArgs.EXE_MODULE)
        workspace_obj: Optional[Workspace] = fl_ctx.get_prop(FLContextKey.WORKSPACE_OBJECT)
        workspace = self.workspace or (workspace_obj.get_root_dir() if workspace_obj else None)
        if not workspace:
            raise RuntimeError("no workspace: set the launcher's workspace")
        workspace = os.path.normpath(workspace)

        # the Docker options NVFlare lets a job set (image, python_path,
        # entrypoint, num_of_gpus, shm_size), validated by NVFlare; jobcell
        # takes the limits among them as requests the site may refuse
        site_name = fl_ctx.get_identity_name()
        spec = get_job_launcher_spec(job_meta, site_name, "docker")
        try:
            validate_docker_job_launcher_spec(spec, "job Docker spec for site %r" % site_name)
        except ValueError as e:
            raise RuntimeError(str(e)) from e
        image = spec.get("image")
        python_path = spec.get("python_path", self.python_path)
        entrypoint = spec.get("entrypoint")
        if entrypoint is not None and not job_meta.get(AppValidationKey.BYOC, False):
            raise RuntimeError("job Docker spec for site %r contains entrypoint but lacks locally "
                               "authorized BYOC" % site_name)
        entry_args: List[str] = []
        if isinstance(entrypoint, list):
            entrypoint, entry_args = entrypoint[0], list(entrypoint[1:])
        sets = []
        if "num_of_gpus" in spec:
            sets.append(("gpus", str(spec["num_of_gpus"])))
        if "shm_size" in spec:
            shm = spec["shm_size"]
            sets.append(("shm_size", str(shm if isinstance(shm, int) else
                                         _docker_shm_size_to_bytes(shm))))
        for key, value in get_portable_resource_spec(job_meta, site_name).items():
            if key == "num_of_gpus":
                sets = [kv for kv in sets if kv[0] != "gpus"] + [("gpus", str(int(value)))]
            elif key == "num_of_cpus":
                sets.append(("cpus", str(value)))
            elif key == "memory":  # validated by NVFlare: N followed by Mi, Gi or Ti
                n, unit = int(value[:-2]), value[-2:]
                sets.append(("memory", "%dm" % (n * {"Mi": 1, "Gi": 1024, "Ti": 1 << 20}[unit])))

        job_args = self._parent_url(job_args)
        # an entrypoint's further words come before the command, as Docker
        # runs ENTRYPOINT + CMD
        cmd = entry_args + [python_path, "-u", "-m", exe[1]]
        for name in self.get_module_arg_names():
            e = job_args.get(name)
            if not e or e[1] is None:
                continue
            cmd += [e[0], self._in_container(workspace, str(e[1]))]
        args = fl_ctx.get_prop(FLContextKey.ARGS)
        set_list = getattr(args, "set", None) if args is not None else None
        if set_list:
            cmd += ["--set"] + [str(s) for s in set_list]

        env = dict(self.job_env)
        if workspace_obj is not None:
            paths = []
            app_custom = workspace_obj.get_app_custom_dir(job)
            if app_custom:
                paths.append(self._in_container(workspace, app_custom))
            site_custom = workspace_obj.get_site_custom_dir()
            if site_custom and os.path.isdir(site_custom):
                paths.append(self._in_container(workspace, site_custom))
            if paths:
                env["PYTHONPATH"] = os.pathsep.join(paths)
        argv = ["run"] + Jobcell._job_args(job, cmd, image=image, entrypoint=entrypoint, env=env,
                                           sets=sets)
        return {"job": job, "argv": argv, "environ": get_credential_env(job_args)}

    # ---- the launch ----

    def launch_job(self, job_meta: dict, fl_ctx: FLContext) -> JobHandleSpec:
        req = self.build(job_meta, fl_ctx)
        env = dict(os.environ)
        for name in ("NVFLARE_JOB_AUTH_TOKEN", "NVFLARE_JOB_TOKEN_SIGNATURE", "NVFLARE_JOB_SSID"):
            env.pop(name, None)  # only this job's, never the server's own
        env.update(req["environ"])
        status_file = tempfile.TemporaryFile(prefix="jobcell-status-")
        ready_r, ready_w = os.pipe()
        try:
            argv = ([self.client.binary] + self.client._globals()
                    + ["--status-fd", str(status_file.fileno())]
                    + req["argv"][:1] + ["--ready-fd", str(ready_w)] + req["argv"][1:])
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                        pass_fds=(status_file.fileno(), ready_w), env=env)
            except OSError as e:
                status_file.close()
                raise RuntimeError("cannot run `%s`: %s" % (self.client.binary, e)) from e
            os.close(ready_w)
            ready_w = -1
            handle = JobcellJobHandle(proc, status_file, req["job"], self.client,
                                      self.stop_wait, self.logger)
            self.logger.info("launching job %s through jobcell (pid %d)", req["job"], proc.pid)
            try:
                handle.container = self._await_start(ready_r, handle)
            except BaseException:
                # interrupted: the job must not outlive the launch
                handle.terminate()
                raise
        finally:
            if ready_w >= 0:
                os.close(ready_w)
            os.close(ready_r)
        # always a handle: the caller learns of a failure through poll()
        return handle

    def _await_start(self, fd: int, handle: JobcellJobHandle) -> Optional[str]:
        """The container id from --ready-fd; None when jobcell ended before
        a start (its status says why) or the start took longer than
        ``timeout`` (the job is then terminated)."""
        data = b""
        while b"\n" not in data:
            readable, _, _ = select.select([fd], [], [], self.timeout)
            if not readable:
                self.logger.warning("job %s: container not started within %ss: terminating",
                                    handle.job, self.timeout)
                handle.terminate()
                return None
            chunk = os.read(fd, 256)
            if not chunk:
                return None
            data += chunk
        return data.split(b"\n", 1)[0].decode("ascii", "replace")


class ClientJobcellLauncher(JobcellJobLauncher):
    """A client site's launcher (CJ: nvflare.private.fed.app.client.worker_process)."""

    def get_module_arg_names(self) -> List[str]:
        return get_client_job_args(include_exe_module=False, include_set_options=False)


class ServerJobcellLauncher(JobcellJobLauncher):
    """The server's launcher (SJ: nvflare.private.fed.app.server.runner_process).
    The SJ writes snapshot-storage and jobs-storage beside startup/ and
    local/: the site file lists them in ``[workspace] scratch``."""

    def get_module_arg_names(self) -> List[str]:
        return get_server_job_args(include_exe_module=False, include_set_options=False)
