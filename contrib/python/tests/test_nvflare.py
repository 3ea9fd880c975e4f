"""jobcell's NVFlare launchers (jobcell.nvflare) against the real NVFlare
package and the real engine, through the built binary ($JOBCELL_BIN,
default build/jobcell of this tree).

Run with the Python of the virtual environment contrib/bootstrap.sh makes
(make nvflare does):
    /opt/jobcell-nvflare-venv/bin/python -m unittest discover \
        -s contrib/python/tests -p test_nvflare.py -v

NVFlare's own code drives the launcher: get_job_launcher fires
BEFORE_JOB_LAUNCH through a real FLContext of an engine stand-in,
get_return_code reads the job's _process_rc.txt, and JobExecutor.start_app
(the client's job executor) launches, waits and reports.  The local test
image has busybox and no Python, so the "job process" in the container is a
shell script standing in for NVFlare's worker_process: python_path names it.
It records its arguments, working directory and credentials, then does what
the file `behaviour` in its job directory says.

A test that cannot run prints SKIP and why (no nvflare package, no engine),
and fails instead under JOBCELL_REQUIRE_ENGINE=1.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)  # contrib/python
ROOT = os.path.dirname(os.path.dirname(PKG))
sys.path.insert(0, PKG)

try:
    from nvflare.apis.event_type import EventType
    from nvflare.apis.fl_constant import FLContextKey
    from nvflare.apis.fl_context import FLContextManager
    from nvflare.apis.job_launcher_spec import JobProcessArgs, JobReturnCode
    from nvflare.apis.workspace import Workspace
    from nvflare.fuel.common.exit_codes import ProcessExitCode
    from nvflare.private.defs import JobFailureMsgKey
    from nvflare.private.fed.client.client_executor import JobExecutor
    from nvflare.private.fed.utils.fed_utils import get_job_launcher, get_return_code

    import jobcell.nvflare as jn

    NVFLARE_WHY = None
except ImportError as e:
    NVFLARE_WHY = "no nvflare package in %s (%s; contrib/bootstrap.sh makes the venv)" % (
        sys.executable, e)

from engine_util import (  # noqa: E402
    BIN, IMAGE, REQUIRE, SOCK, engine, engine_why, site_containers)

SITE = "nvf%d" % os.getpid()  # the jobcell sites: unique, so leftovers are ours
SERVER_SITE = SITE + "s"
FL_SITE = "site-1"  # the NVFlare site's name
JOB_USER = (65534, 65534)  # owns each job directory; [job] user = auto runs the job as it
CREDS = {"NVFLARE_JOB_AUTH_TOKEN": "tok-" + uuid.uuid4().hex,
         "NVFLARE_JOB_TOKEN_SIGNATURE": "sig-" + uuid.uuid4().hex,
         "NVFLARE_JOB_SSID": "ssid-" + uuid.uuid4().hex}

# The worker_process stand-in: NVFlare's command line is
#   PYTHON -u -m MODULE -m WORKSPACE -w STARTUP -n JOB -c CLIENT -p URL ...
STAND_IN = r"""#!/bin/sh
argv="$0 $*"
module= ws= job=
while [ $# -gt 0 ]; do
	case $1 in
	-u) if [ -z "$module" ]; then shift; continue; fi ;;
	-m) if [ -z "$module" ]; then module=$2; else ws=$2; fi ;;
	-n) job=$2 ;;
	esac
	shift 2 || break
done
d=$ws/$job
echo "$argv" >"$d/argv.txt"
echo "$module" >"$d/module.txt"
pwd >"$d/cwd.txt"
ls -a "$ws" >"$d/root.txt"
env | grep '^NVFLARE_JOB_' | sort >"$d/creds.txt"
read what arg <"$d/behaviour"
case $what in
exit) exit "$arg" ;;
rc) echo "$arg" >"$d/_process_rc.txt"; exit 1 ;;
scratch)
	for s in snapshot-storage jobs-storage; do
		echo probe >"$ws/$s/probe" && echo "$s writable" >>"$d/scratch.txt"
	done
	(echo x >"$ws/intruder") 2>/dev/null && echo "root writable" >>"$d/scratch.txt"
	exit 0 ;;
sleep)
	trap 'echo stopped >"$d/stopped.txt"; exit 143' TERM
	echo running >"$d/running.txt"
	while :; do sleep 1; done ;;
esac
exit 3
"""
PYTHON = "/workspace/startup/python-stand-in"

TMP = WS = WS_SERVER = None
ENGINE_WHY = None


def both_sites_containers():
    return site_containers(SITE) + site_containers(SERVER_SITE)


def make_site(kind, name, example_name, example_path):
    """A workspace TMP/KIND with startup/ (the stand-in in it) and local/,
    and the example site file KIND.ini with this test's engine, name and
    workspace; returns the workspace."""
    ws = os.path.join(TMP, kind)
    for d in ("startup", "local"):
        os.makedirs(os.path.join(ws, d))
    os.chmod(ws, 0o755)
    with open(os.path.join(ws, "startup", "fed_%s.json" % kind), "w") as f:
        f.write("{}\n")
    with open(os.path.join(ws, "startup", "python-stand-in"), "w") as f:
        f.write(STAND_IN)
    os.chmod(os.path.join(ws, "startup", "python-stand-in"), 0o755)
    with open(os.path.join(PKG, "examples", "nvflare", kind + ".ini")) as f:
        ini = f.read()
    ini = ini.replace("endpoint = unix:///var/run/docker.sock", "endpoint = unix://" + SOCK)
    ini = ini.replace("name = " + example_name, "name = " + name)
    ini = ini.replace("path = " + example_path, "path = " + ws)
    ini = ini.replace("image = nvflare-job:2.9.0", "image = " + IMAGE)
    ini = ini.replace("network = nvflare-network", "network = none")
    ini = ini.replace("gpus = all\n", "").replace("cpus = 8\n", "").replace("cpus = 4\n", "")
    ini = ini.replace("tmp_size = 1g", "tmp_size = 64m\nstop_grace = 2s")
    with open(os.path.join(TMP, kind + ".ini"), "w") as f:
        f.write(ini)
    return ws


def setUpModule():
    global TMP, WS, WS_SERVER, ENGINE_WHY
    TMP = tempfile.mkdtemp(prefix="jobcell-nvf.")
    os.chmod(TMP, 0o755)  # the workspace walk wants no group/world write
    WS = make_site("client", SITE, "site1", "/srv/nvflare/site-1")
    WS_SERVER = make_site("server", SERVER_SITE, "server", "/srv/nvflare/server")
    if NVFLARE_WHY is not None:
        return
    ENGINE_WHY = engine_why()


def tearDownModule():
    try:
        if NVFLARE_WHY is None and ENGINE_WHY is None:
            for cid in both_sites_containers():
                print("cleanup: removing container %s left by site %s" % (cid[:12], SITE))
                engine("DELETE", "/containers/%s?force=1" % cid)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


class _Engine:
    """What get_job_launcher and JobExecutor ask of NVFlare's engine: new
    contexts of one FLContextManager, and events fired to the components
    (the site's resources.json components: here the launcher alone)."""

    def __init__(self, components):
        self.components = components
        self.ctx_mgr = FLContextManager(engine=self, identity_name=FL_SITE)

    def new_context(self):
        return self.ctx_mgr.new_context()

    def fire_event(self, event_type, fl_ctx):
        for c in self.components:
            c.handle_event(event_type, fl_ctx)


class _Cell:
    def get_internal_listener_url(self):
        return "tcp://localhost:8102"

    def get_internal_listener_params(self):
        return {}


class _Client:
    """The FL client JobExecutor reads: its name, credentials and cell; what
    it reports at the job's end is kept in `reports`."""

    def __init__(self, eng):
        self.client_name = FL_SITE
        self.token = CREDS["NVFLARE_JOB_AUTH_TOKEN"]
        self.token_signature = CREDS["NVFLARE_JOB_TOKEN_SIGNATURE"]
        self.ssid = CREDS["NVFLARE_JOB_SSID"]
        self.cell = _Cell()
        self.engine = eng
        self.reports = []

    def send_request_before_shutdown(self, target, channel, topic, request, timeout, optional):
        self.reports.append(request.payload)
        return None


class Mapping(unittest.TestCase):
    """jobcell's statuses and records to NVFlare's return codes."""

    def setUp(self):
        if NVFLARE_WHY is not None:
            if REQUIRE:
                self.fail("skipped but JOBCELL_REQUIRE_ENGINE=1: " + NVFLARE_WHY)
            print("\nSKIP %s: %s" % (self.id(), NVFLARE_WHY), flush=True)
            raise unittest.SkipTest(NVFLARE_WHY)

    def run_rec(self, status, job_status, timed_out=False):
        return [{"schema": 1, "job": "j", "container": "c", "exit_code": status,
                 "job_status": job_status, "timed_out": timed_out}]

    def fail_rec(self, status):
        return [{"schema": 1, "error": {"kind": "engine", "message": "m", "errno": "ENOENT",
                                        "retry": False}, "exit_code": status}]

    def test_table(self):
        rc = jn.return_code
        self.assertEqual(rc(0, self.run_rec(0, 0)), JobReturnCode.SUCCESS)
        self.assertEqual(rc(1, self.run_rec(1, 1)), JobReturnCode.EXECUTION_ERROR)
        self.assertEqual(rc(9, self.run_rec(9, 9)), JobReturnCode.ABORTED)
        # the job's own 125, 126, 127: its status, not jobcell's
        for s in (125, 126, 127):
            self.assertEqual(rc(s, self.run_rec(s, s)), JobReturnCode.EXECUTION_ERROR)
        self.assertEqual(rc(125, self.fail_rec(125)), ProcessExitCode.INFRASTRUCTURE_ERROR)
        self.assertEqual(rc(125, []), ProcessExitCode.INFRASTRUCTURE_ERROR)
        self.assertEqual(rc(126, self.fail_rec(126)), ProcessExitCode.CONFIG_ERROR)
        self.assertEqual(rc(127, self.fail_rec(127)), ProcessExitCode.CONFIG_ERROR)
        self.assertEqual(rc(124, self.run_rec(124, 137, True)), JobReturnCode.ABORTED)
        self.assertEqual(rc(137, self.run_rec(137, 137)), JobReturnCode.ABORTED)
        self.assertEqual(rc(143, self.run_rec(143, 143)), JobReturnCode.ABORTED)
        self.assertEqual(rc(-9, []), ProcessExitCode.INFRASTRUCTURE_ERROR)
        self.assertEqual(rc(0, self.run_rec(0, 0), terminated=True), JobReturnCode.ABORTED)

    def test_job_names(self):
        self.assertEqual(jn.job_name("5f2c8a1e-0d3b-4a8e-9c51-2b7e0e3f4a10"),
                         "5f2c8a1e-0d3b-4a8e-9c51-2b7e0e3f4a10")
        for bad in ("", "../x", "-x", "a/b", "startup", "LOCAL", "x" * 65, None, "a b"):
            with self.assertRaises(RuntimeError):
                jn.job_name(bad)

    def test_one_of_config_and_site(self):
        with self.assertRaises(ValueError):
            jn.ClientJobcellLauncher()
        with self.assertRaises(ValueError):
            jn.ClientJobcellLauncher(config="a.ini", site="a")


class Base(unittest.TestCase):
    """What the launchers' tests share: a job directory made as NVFlare
    deploys one, NVFlare's launch and return-code paths, and no container
    left after each test."""

    @property
    def ws(self):
        return WS

    def setUp(self):
        why = NVFLARE_WHY or ENGINE_WHY
        if why is not None:
            if REQUIRE:
                self.fail("skipped but JOBCELL_REQUIRE_ENGINE=1: " + why)
            print("\nSKIP %s: %s" % (self.id(), why), flush=True)
            raise unittest.SkipTest(why)
        self.launcher = jn.ClientJobcellLauncher(
            config=os.path.join(TMP, "client.ini"), binary=BIN, python_path=PYTHON, timeout=60,
            stop_wait=60)
        self.eng = _Engine([self.launcher])

    def tearDown(self):
        left = both_sites_containers()
        for cid in left:
            engine("DELETE", "/containers/%s?force=1" % cid)
        self.assertEqual(left, [], "containers left behind")

    def new_job(self, behaviour, meta=None):
        job_id = str(uuid.uuid4())
        d = os.path.join(self.ws, job_id)
        os.makedirs(d)
        with open(os.path.join(d, "behaviour"), "w") as f:
            f.write(behaviour + "\n")
        meta = dict(meta or {})
        meta["job_id"] = job_id
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump(meta, f)
        for root, dirs, files in os.walk(d):
            for n in dirs + files + ["."]:
                os.chown(os.path.join(root, n), *JOB_USER)
        os.chmod(d, 0o700)
        return job_id, meta

    def read(self, job_id, name):
        with open(os.path.join(self.ws, job_id, name)) as f:
            return f.read()

    @staticmethod
    def job_args(job_id):
        # as JobExecutor.start_app builds them
        return {
            JobProcessArgs.EXE_MODULE: ("-m", "nvflare.private.fed.app.client.worker_process"),
            JobProcessArgs.JOB_ID: ("-n", job_id),
            JobProcessArgs.CLIENT_NAME: ("-c", FL_SITE),
            JobProcessArgs.AUTH_TOKEN: ("-t", CREDS["NVFLARE_JOB_AUTH_TOKEN"]),
            JobProcessArgs.TOKEN_SIGNATURE: ("-ts", CREDS["NVFLARE_JOB_TOKEN_SIGNATURE"]),
            JobProcessArgs.SSID: ("-d", CREDS["NVFLARE_JOB_SSID"]),
            JobProcessArgs.WORKSPACE: ("-m", WS),
            JobProcessArgs.STARTUP_DIR: ("-w", os.path.join(WS, "startup")),
            JobProcessArgs.PARENT_URL: ("-p", "tcp://localhost:8102"),
            JobProcessArgs.SCHEME: ("-scheme", "grpc"),
            JobProcessArgs.TARGET: ("-g", "server:8002"),
            JobProcessArgs.STARTUP_CONFIG_FILE: ("-s", "fed_client.json"),
            JobProcessArgs.OPTIONS: ("--set", " print_conf=True"),
        }

    def launch(self, behaviour, meta=None):
        """(job id, handle) of a job launched as ClientExecutor does it:
        get_job_launcher, JOB_PROCESS_ARGS, launch_job."""
        job_id, meta = self.new_job(behaviour, meta)
        with self.eng.new_context() as fl_ctx:
            launcher = get_job_launcher(meta, fl_ctx)
            self.assertIs(launcher, self.launcher)
            fl_ctx.set_prop(FLContextKey.WORKSPACE_OBJECT, Workspace(WS, site_name=FL_SITE),
                            private=True)
            fl_ctx.set_prop(FLContextKey.ARGS, argparse.Namespace(set=["print_conf=True"]),
                            private=True)
            fl_ctx.set_prop(FLContextKey.JOB_PROCESS_ARGS, self.job_args(job_id), private=True,
                            sticky=False)
            return job_id, launcher.launch_job(meta, fl_ctx)

    def finish(self, job_id, handle):
        handle.wait()
        return get_return_code(handle, job_id, self.ws, self.launcher.logger)

    def await_running(self, job_id):
        deadline = time.time() + 30
        while not os.path.exists(os.path.join(self.ws, job_id, "running.txt")):
            self.assertLess(time.time(), deadline, "the job never ran")
            time.sleep(0.2)


class Launch(Base):
    """Client jobs launched by NVFlare's own paths through jobcell on the engine."""

    def test_success_and_the_job_command(self):
        sibling, _ = self.new_job("exit 0")  # another job's, never launched
        job_id, h = self.launch("exit 0")
        self.assertIsNotNone(h.container)
        self.assertEqual(self.finish(job_id, h), JobReturnCode.SUCCESS)
        self.assertEqual(h.status, 0)
        # NVFlare's command, its workspace paths as the job sees them
        self.assertEqual(self.read(job_id, "module.txt").strip(),
                         "nvflare.private.fed.app.client.worker_process")
        argv = self.read(job_id, "argv.txt")
        for want in ("-m /workspace ", "-w /workspace/startup ", "-n %s " % job_id,
                     "-c %s " % FL_SITE, "-s fed_client.json", "--set print_conf=True"):
            self.assertIn(want, argv)
        self.assertNotIn(WS, argv)
        self.assertEqual(self.read(job_id, "cwd.txt").strip(), "/workspace/" + job_id)
        # the workspace root shows startup/, local/ and this job's directory
        # alone, not the other job's beside it in the host's workspace
        self.assertIn(sibling, os.listdir(WS))
        self.assertEqual(sorted(self.read(job_id, "root.txt").split()),
                         sorted([".", "..", job_id, "local", "startup"]))

    def test_exit_codes_pass_through(self):
        cases = [("exit 1", JobReturnCode.EXECUTION_ERROR), ("exit 9", JobReturnCode.ABORTED),
                 ("exit 125", JobReturnCode.EXECUTION_ERROR)]
        for behaviour, want in cases:
            job_id, h = self.launch(behaviour)
            self.assertEqual(self.finish(job_id, h), want, behaviour)
            self.assertEqual(h.status, int(behaviour.split()[1]))

    def test_process_rc_file_is_honoured(self):
        job_id, h = self.launch("rc %d" % ProcessExitCode.CONFIG_ERROR)
        self.assertEqual(self.finish(job_id, h), ProcessExitCode.CONFIG_ERROR)
        self.assertEqual(h.poll(), JobReturnCode.EXECUTION_ERROR)
        self.assertFalse(os.path.exists(os.path.join(self.ws, job_id, "_process_rc.txt")))

    def test_missing_image_is_an_infrastructure_error(self):
        meta = {"launcher_spec": {FL_SITE: {"docker": {"image": "jobcell-test/absent:latest"}}}}
        job_id, h = self.launch("exit 0", meta)
        self.assertIsNone(h.container)
        # even over a _process_rc.txt, as NVFlare's get_return_code rules
        with open(os.path.join(self.ws, job_id, "_process_rc.txt"), "w") as f:
            f.write("0\n")
        self.assertEqual(self.finish(job_id, h), ProcessExitCode.INFRASTRUCTURE_ERROR)
        self.assertEqual(h.status, 125)
        self.assertIn("absent", h.record["error"]["message"])

    def test_missing_command_is_a_config_error(self):
        meta = {"launcher_spec": {FL_SITE: {"docker": {"python_path": "/no/python"}}}}
        job_id, h = self.launch("exit 0", meta)
        self.assertEqual(self.finish(job_id, h), ProcessExitCode.CONFIG_ERROR)
        self.assertEqual(h.status, 127)

    def test_docker_options_are_refused(self):
        meta = {"launcher_spec": {FL_SITE: {"docker": {"image": IMAGE, "ipc_mode": "host"}}}}
        with self.assertRaises(RuntimeError) as cm:
            self.launch("exit 0", meta)
        self.assertIn("ipc_mode", str(cm.exception))

    def test_credentials_in_env_not_argv_and_terminate(self):
        job_id, h = self.launch("sleep")
        self.assertIsNotNone(h.container)
        self.await_running(job_id)
        with open("/proc/%d/cmdline" % h.process.pid, "rb") as f:
            cmdline = f.read().split(b"\0")
        self.assertIn(b"run", cmdline)  # it is jobcell run's
        for name, value in CREDS.items():
            self.assertFalse(any(value.encode() in a for a in cmdline), name + " in argv")
        st, info = engine("GET", "/containers/%s/json" % h.container)
        self.assertEqual(st, 200)
        for name, value in CREDS.items():
            self.assertIn("%s=%s" % (name, value), info["Config"]["Env"])
            self.assertNotIn(value, " ".join(info["Config"]["Cmd"] or []))
        self.assertEqual(self.read(job_id, "creds.txt"),
                         "".join("%s=%s\n" % kv for kv in sorted(CREDS.items())))
        self.assertEqual(h.poll(), JobReturnCode.UNKNOWN)
        h.terminate()
        # graceful: the job saw its stop signal; then the container went
        self.assertEqual(self.read(job_id, "stopped.txt"), "stopped\n")
        self.assertEqual(engine("GET", "/containers/%s/json" % h.container)[0], 404)
        self.assertEqual(h.poll(), JobReturnCode.ABORTED)
        self.assertEqual(get_return_code(h, job_id, self.ws, self.launcher.logger),
                         JobReturnCode.ABORTED)

    def test_terminate_after_the_end_keeps_the_jobs_code(self):
        job_id, h = self.launch("exit 1")
        h.process.wait()  # jobcell has exited; nobody asked the handle yet
        h.terminate()
        self.assertEqual(h.poll(), JobReturnCode.EXECUTION_ERROR)

    def test_killed_jobcell_leaves_no_container(self):
        # someone else's SIGKILL: the handle removes the container itself
        job_id, h = self.launch("sleep")
        self.await_running(job_id)
        os.kill(h.process.pid, signal.SIGKILL)
        self.assertEqual(self.finish(job_id, h), ProcessExitCode.INFRASTRUCTURE_ERROR)
        self.assertEqual(engine("GET", "/containers/%s/json" % h.container)[0], 404)

    def test_start_timeout_terminates(self):
        self.launcher.timeout = 0.001
        job_id, h = self.launch("exit 0")
        self.assertIsNone(h.container)
        self.assertEqual(h.poll(), JobReturnCode.ABORTED)
        self.assertEqual(self.finish(job_id, h), JobReturnCode.ABORTED)

    def test_job_executor(self):
        """NVFlare's client JobExecutor: start_app launches through the
        launcher, its waiter thread reports the return code; abort_app
        terminates."""
        client = _Client(self.eng)
        ex = JobExecutor(client, os.path.join(WS, "startup"))

        def start(behaviour):
            job_id, meta = self.new_job(behaviour)
            with self.eng.new_context() as fl_ctx:
                fl_ctx.set_prop(FLContextKey.WORKSPACE_OBJECT, Workspace(WS, site_name=FL_SITE),
                                private=True)
                fl_ctx.set_prop(FLContextKey.SERVER_CONFIG,
                                [{"service": {"scheme": "grpc", "target": "server:8002"}}],
                                private=True)
                ex.start_app(client, job_id, meta, argparse.Namespace(workspace=WS, set=[]),
                             None, None, None, fl_ctx)
            return job_id

        def reported(job_id):
            deadline = time.time() + 60
            while True:
                got = [r for r in client.reports if r[JobFailureMsgKey.JOB_ID] == job_id]
                if got and job_id not in ex.run_processes:
                    return got[0][JobFailureMsgKey.CODE]
                self.assertLess(time.time(), deadline, "no report of job " + job_id)
                time.sleep(0.2)

        job_id = start("rc %d" % ProcessExitCode.EXCEPTION)
        self.assertEqual(reported(job_id), ProcessExitCode.EXCEPTION)
        job_id = start("exit 0")
        self.assertEqual(reported(job_id), JobReturnCode.SUCCESS)
        job_id = start("sleep")
        self.await_running(job_id)
        t = threading.Thread(target=ex.abort_app, args=(job_id,))
        t.start()
        t.join(120)
        self.assertEqual(reported(job_id), JobReturnCode.ABORTED)
        self.assertEqual(self.read(job_id, "stopped.txt"), "stopped\n")


class Server(Base):
    """The server's launcher: NVFlare's SJ arguments, the parent URL
    rewritten to parent_host, and the scratch directories of server.ini."""

    @property
    def ws(self):
        return WS_SERVER

    def setUp(self):
        super().setUp()
        self.launcher = jn.ServerJobcellLauncher(
            config=os.path.join(TMP, "server.ini"), binary=BIN, python_path=PYTHON,
            parent_host="server", timeout=60)
        self.eng = _Engine([self.launcher])

    def test_server_job(self):
        job_id, meta = self.new_job("scratch")
        app_root = os.path.join(self.ws, job_id, "app_server")
        job_args = {  # as ServerEngine builds them
            JobProcessArgs.JOB_ID: ("-n", job_id),
            JobProcessArgs.EXE_MODULE: ("-m", "nvflare.private.fed.app.server.runner_process"),
            JobProcessArgs.WORKSPACE: ("-m", self.ws),
            JobProcessArgs.STARTUP_CONFIG_FILE: ("-s", "fed_server.json"),
            JobProcessArgs.APP_ROOT: ("-r", app_root),
            JobProcessArgs.AUTH_TOKEN: ("-t", CREDS["NVFLARE_JOB_AUTH_TOKEN"]),
            JobProcessArgs.TOKEN_SIGNATURE: ("-ts", CREDS["NVFLARE_JOB_TOKEN_SIGNATURE"]),
            JobProcessArgs.PARENT_URL: ("-p", "tcp://localhost:8102"),
            JobProcessArgs.ROOT_URL: ("-u", "grpc://0:8002"),
            JobProcessArgs.SERVICE_HOST: ("--host", "server.example"),
            JobProcessArgs.SERVICE_PORT: ("--port", "8003"),
            JobProcessArgs.SSID: ("--ssid", CREDS["NVFLARE_JOB_SSID"]),
            JobProcessArgs.OPTIONS: ("--set", " print_conf=True"),
        }
        with self.eng.new_context() as fl_ctx:
            launcher = get_job_launcher(meta, fl_ctx)
            self.assertIs(launcher, self.launcher)
            fl_ctx.set_prop(FLContextKey.WORKSPACE_OBJECT,
                            Workspace(self.ws, site_name="server"), private=True)
            fl_ctx.set_prop(FLContextKey.JOB_PROCESS_ARGS, job_args, private=True,
                            sticky=False)
            h = launcher.launch_job(meta, fl_ctx)
        self.assertEqual(self.finish(job_id, h), JobReturnCode.SUCCESS)
        argv = self.read(job_id, "argv.txt")
        for want in ("-m /workspace ", "-r /workspace/%s/app_server " % job_id,
                     "-p tcp://server:8102 ", "-u grpc://0:8002 ", "--host server.example",
                     "--port 8003"):
            self.assertIn(want, argv)
        for value in CREDS.values():
            self.assertNotIn(value, argv)
        self.assertEqual(self.read(job_id, "creds.txt"),
                         "".join("%s=%s\n" % kv for kv in sorted(CREDS.items())))
        # the scratch directories are writable, the root is not
        self.assertEqual(self.read(job_id, "scratch.txt"),
                         "snapshot-storage writable\njobs-storage writable\n")
        self.assertFalse(os.path.exists(os.path.join(self.ws, "intruder")))
        self.assertEqual(sorted(self.read(job_id, "root.txt").split()), sorted(
            [".", "..", job_id, "local", "startup", "snapshot-storage", "jobs-storage"]))


class SiteCheck(Base):
    """`jobcell check` on the example site files (as this test adapts them):
    every promise kept, the server's scratch directories among them.  Docker
    20.10 gives the workspace root's tmpfs mode 0755 whatever is asked
    (jobcell.ini(5), root_mode): that row alone may be broken there."""

    def check(self, kind):
        from jobcell import Jobcell
        r = Jobcell(BIN, config=os.path.join(TMP, kind + ".ini")).check()
        rows = {row["name"]: row for row in r.rows}
        for name in ("siblings-invisible", "workdir-is-job-dir"):
            self.assertEqual(rows[name]["state"], "kept", rows[name])
        broken = [row for row in r.rows if row["state"] in ("broken", "unknown")]
        if os.environ.get("JOBCELL_TEST_ENGINE", "docker") == "docker":
            broken = [row for row in broken if row["name"] != "workspace-root-mode"]
        self.assertEqual(broken, [])
        return rows

    def test_client_site(self):
        self.check("client")

    def test_server_site(self):
        rows = self.check("server")
        self.assertEqual(rows["scratch-writable"]["state"], "kept")


class Request(unittest.TestCase):
    """The request the launcher builds (nothing runs): argv, environment."""

    def setUp(self):
        if NVFLARE_WHY is not None:
            if REQUIRE:
                self.fail("skipped but JOBCELL_REQUIRE_ENGINE=1: " + NVFLARE_WHY)
            print("\nSKIP %s: %s" % (self.id(), NVFLARE_WHY), flush=True)
            raise unittest.SkipTest(NVFLARE_WHY)
        self.ws = tempfile.mkdtemp(prefix="jobcell-nvf-req.")
        os.makedirs(os.path.join(self.ws, "local", "custom"))
        os.makedirs(os.path.join(self.ws, "startup"))
        self.addCleanup(shutil.rmtree, self.ws)

    def build(self, launcher, meta, parent_url="tcp://localhost:8102"):
        ws = self.ws
        eng = _Engine([launcher])
        job_id = meta["job_id"]
        with eng.new_context() as fl_ctx:
            fl_ctx.set_prop(FLContextKey.WORKSPACE_OBJECT, Workspace(ws, site_name=FL_SITE),
                            private=True)
            fl_ctx.set_prop(FLContextKey.JOB_PROCESS_ARGS, Base.job_args(job_id) | {
                JobProcessArgs.WORKSPACE: ("-m", ws),
                JobProcessArgs.STARTUP_DIR: ("-w", ws + "/startup"),
                JobProcessArgs.PARENT_URL: ("-p", parent_url)}, private=True)
            return launcher.build(meta, fl_ctx)

    def test_request(self):
        launcher = jn.ClientJobcellLauncher(site="s1", mount_point="/fl/", parent_host="cp-1",
                                            job_env={"NCCL_P2P_DISABLE": "1"})
        meta = {"job_id": "j-1", "resource_spec": {FL_SITE: {"num_of_gpus": 1, "memory": "2Gi"}},
                "launcher_spec": {FL_SITE: {"docker": {"image": "nvflare-job:2"}}}}
        req = self.build(launcher, meta)
        argv = req["argv"]
        self.assertEqual(argv[0], "run")
        self.assertEqual(argv[argv.index("--job") + 1], "j-1")
        cmd = argv[argv.index("--") + 1:]
        self.assertEqual(cmd[:4], ["/usr/local/bin/python", "-u", "-m",
                                   "nvflare.private.fed.app.client.worker_process"])
        pairs = [(cmd[i], cmd[i + 1]) for i in range(4, len(cmd) - 1, 2)]
        self.assertIn(("-m", "/fl"), pairs)
        self.assertIn(("-w", "/fl/startup"), pairs)
        self.assertIn(("-p", "tcp://cp-1:8102"), pairs)
        opts = argv[:argv.index("--job")]
        self.assertEqual(opts[opts.index("--image") + 1], "nvflare-job:2")
        sets = [opts[i + 1] for i, a in enumerate(opts) if a == "--set"]
        self.assertEqual(sorted(sets), ["gpus=1", "memory=2048m"])
        self.assertNotIn("--entrypoint", opts)
        self.assertIn("NCCL_P2P_DISABLE=1", opts)
        # the job app's and the site's custom code, where the job sees them
        self.assertIn("PYTHONPATH=/fl/j-1/app_%s/custom:/fl/local/custom" % FL_SITE, opts)
        self.assertEqual(req["environ"], CREDS)
        for value in CREDS.values():
            self.assertFalse(any(value in a for a in argv))

    def test_job_docker_options(self):
        # NVFlare's job-controlled Docker options; an entrypoint needs BYOC
        meta = {"job_id": "j-2", "byoc": True, "launcher_spec": {FL_SITE: {"docker": {
            "entrypoint": ["/opt/entry", "--flag"], "shm_size": "1.5g", "num_of_gpus": 2,
            "python_path": "/opt/py/bin/python"}}}}
        argv = self.build(jn.ClientJobcellLauncher(site="s1"), meta)["argv"]
        opts, cmd = argv[:argv.index("--job")], argv[argv.index("--") + 1:]
        self.assertEqual(opts[opts.index("--entrypoint") + 1], "/opt/entry")
        self.assertEqual(cmd[:3], ["--flag", "/opt/py/bin/python", "-u"])
        sets = [opts[i + 1] for i, a in enumerate(opts) if a == "--set"]
        self.assertEqual(sorted(sets), ["gpus=2", "shm_size=%d" % (3 << 29)])
        self.assertNotIn("--image", opts)

    def test_example_resources(self):
        # NVFlare's component builder makes the examples' launchers
        from nvflare.fuel.utils.component_builder import ComponentBuilder

        class Builder(ComponentBuilder):
            def get_module_scanner(self):
                return None  # every example names its class by path

        for kind, cls in (("client", jn.ClientJobcellLauncher),
                          ("server", jn.ServerJobcellLauncher)):
            with open(os.path.join(PKG, "examples", "nvflare", "resources.%s.json" % kind)) as f:
                comps = json.load(f)["components"]
            self.assertEqual(len(comps), 1)
            launcher = Builder().build_component(comps[0])
            self.assertIs(type(launcher), cls)
            self.assertEqual(launcher.client.config, comps[0]["args"]["config"])
            self.assertEqual(launcher.mount_point, "/workspace")

    def test_refusals(self):
        launcher = jn.ClientJobcellLauncher(site="s1")
        with self.assertRaisesRegex(RuntimeError, "not a jobcell job name"):
            self.build(launcher, {"job_id": "../j"})
        with self.assertRaisesRegex(RuntimeError, r"unsupported .* \['network_mode'\]"):
            self.build(launcher, {"job_id": "j", "launcher_spec": {
                FL_SITE: {"docker": {"network_mode": "host"}}}})
        with self.assertRaisesRegex(RuntimeError, "lacks locally authorized BYOC"):
            self.build(launcher, {"job_id": "j", "launcher_spec": {
                FL_SITE: {"docker": {"entrypoint": "/bin/sh"}}}})
        with self.assertRaisesRegex(RuntimeError, "parent_host needs tcp or stcp"):
            self.build(jn.ClientJobcellLauncher(site="s1", parent_host="cp"), {"job_id": "j"},
                       parent_url="file:///tmp/x")


if __name__ == "__main__":
    unittest.main()
