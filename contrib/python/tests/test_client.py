"""The jobcell Python client against the real engine, through the built
binary ($JOBCELL_BIN, default build/jobcell of this tree).

Run: python3 -m unittest discover -s contrib/python/tests -v
(make python does, under the engine socket of $JOBCELL_TEST_SOCKET).

The sites are written here, as tests/integration/lib.sh writes them: a
workspace with startup/ and local/, the local image jobcell-test/root, user
0:0.  Their names are unique to this process; whatever a test leaves behind
is removed by label (jobcell.site=SITE) at the end and reported.  A test
that cannot run prints SKIP and why, and fails instead under
JOBCELL_REQUIRE_ENGINE=1.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)  # contrib/python
ROOT = os.path.dirname(os.path.dirname(PKG))
sys.path.insert(0, PKG)

import jobcell  # noqa: E402
from jobcell import Jobcell, JobcellError, JobExitError  # noqa: E402

from engine_util import (  # noqa: E402
    BIN, IMAGE, REQUIRE, SOCK, engine, engine_why, label_filter, site_containers, site_volumes)

SITE = "py%d" % os.getpid()  # unique per run: leftovers are attributable
SITE_DOWN = SITE + "down"  # a site whose engine does not answer
SITE_VOL = SITE + "v"  # a volume-mode site; its site volumes, made here:
SITE_VOLUMES = (SITE_VOL + "-startup", SITE_VOL + "-local")

TMP = None
ENGINE_WHY = None  # why the engine tests cannot run, or None


def container_exists(name):
    return engine("GET", "/containers/%s/json" % name)[0] == 200


def write_site(name, endpoint, keys=""):
    ws = os.path.join(TMP, name)
    os.makedirs(os.path.join(ws, "startup"))
    os.makedirs(os.path.join(ws, "local"))
    os.chmod(ws, 0o755)
    with open(os.path.join(ws, "startup", "fed.json"), "w") as f:
        f.write("startup-%s\n" % name)
    with open(os.path.join(ws, "local", "resources.json"), "w") as f:
        f.write("local-%s\n" % name)
    path = os.path.join(TMP, name + ".ini")
    with open(path, "w") as f:
        f.write("[engine]\nendpoint = %s\n[site]\nname = %s\n[workspace]\npath = %s\n"
                "[job]\nimage = %s\nuser = 0:0\nallow_root = true\nstop_grace = 2s\n"
                "timeout = 5m\n%s" % (endpoint, name, ws, IMAGE, keys))
    return path


def setUpModule():
    global TMP, ENGINE_WHY
    TMP = tempfile.mkdtemp(prefix="jobcell-py.")
    os.chmod(TMP, 0o755)  # the workspace walk wants no group/world write
    write_site(SITE, "unix://" + SOCK)
    write_site(SITE_DOWN, "unix://" + os.path.join(TMP, "no-engine.sock"))
    os.makedirs(os.path.join(TMP, "xfer"))
    with open(os.path.join(TMP, SITE_VOL + ".ini"), "w") as f:
        f.write("[engine]\nendpoint = unix://%s\n[site]\nname = %s\n[workspace]\nmode = volume\n"
                "[volume]\nstartup_volume = %s\nlocal_volume = %s\n"
                "[job]\nimage = %s\nuser = 0:0\nallow_root = true\nstop_grace = 2s\n"
                % (SOCK, SITE_VOL, SITE_VOLUMES[0], SITE_VOLUMES[1], IMAGE))
    ENGINE_WHY = engine_why()


def tearDownModule():
    try:
        if ENGINE_WHY is None:
            for site in (SITE, SITE_DOWN, SITE_VOL):
                for cid in site_containers(site):
                    print("cleanup: removing container %s left by site %s" % (cid[:12], site))
                    engine("DELETE", "/containers/%s?force=1" % cid)
                for v in site_volumes(site):
                    print("cleanup: removing volume %s left by site %s" % (v, site))
                    engine("DELETE", "/volumes/%s?force=1" % v)
            st, body = engine("GET", "/volumes?filters=" + label_filter("jobcell-test.run=" + SITE))
            for v in (body or {}).get("Volumes") or [] if st == 200 else []:
                engine("DELETE", "/volumes/%s?force=1" % v["Name"])
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


class Base(unittest.TestCase):
    def need(self, why):
        """SKIP (or, under JOBCELL_REQUIRE_ENGINE=1, fail) when `why`."""
        if why is None:
            return
        if REQUIRE:
            self.fail("skipped but JOBCELL_REQUIRE_ENGINE=1: " + why)
        print("\nSKIP %s: %s" % (self.id(), why), flush=True)
        raise unittest.SkipTest(why)

    def setUp(self):
        self.need(None if os.access(BIN, os.X_OK) else "no jobcell binary at %s" % BIN)
        self.jc = Jobcell(BIN, config=os.path.join(TMP, SITE + ".ini"), cwd=os.path.join(TMP, "xfer"))

    def engine_needed(self):
        self.need(ENGINE_WHY)

    def assert_gone(self, job):
        name = "jobcell-%s-%s" % (SITE, job)
        self.assertFalse(container_exists(name), "container %s was left behind" % name)


class Refusals(Base):
    """What jobcell refuses before contacting anything, and what this
    package refuses before running jobcell."""

    def test_bad_job_name_raises_with_jobcells_line(self):
        with self.assertRaises(JobcellError) as cm:
            self.jc.run("../x", ["true"])
        e = cm.exception
        self.assertEqual(e.status, 125)
        self.assertTrue(e.line.startswith("jobcell: error: job name `../x`"), e.line)
        self.assertEqual(e.kind, "input")
        self.assertEqual(e.record["exit_code"], 125)

    def test_job_name_like_an_option_is_a_name(self):
        # passed as --job NAME: judged as a name, never obeyed as --keep
        with self.assertRaises(JobcellError) as cm:
            self.jc.run("--keep", ["true"])
        self.assertIn("job name", cm.exception.line)

    def test_longer_timeout_than_the_site_refused(self):
        with self.assertRaises(JobcellError) as cm:
            self.jc.run("t", ["true"], timeout="10m")
        self.assertEqual(cm.exception.status, 125)
        self.assertIn("timeout", cm.exception.line)

    def test_start_with_stdin_has_no_such_option(self):
        with self.assertRaises(TypeError):
            self.jc.start("s", ["true"], stdin=b"x")  # pylint: disable=unexpected-keyword-arg

    def test_shell_strings_refused(self):
        with self.assertRaises(TypeError):
            self.jc.run("s", "echo hi")
        with self.assertRaises(ValueError):
            self.jc.run("s", ["true"], env={"A=B": "c"})
        with self.assertRaises(ValueError):
            self.jc.volume_put("v", ("a:b", "c"))

    def test_missing_binary_raises(self):
        j = Jobcell(os.path.join(TMP, "no-such-jobcell"), config=os.path.join(TMP, SITE + ".ini"))
        with self.assertRaises(JobcellError) as cm:
            j.ps()
        self.assertIsNone(cm.exception.status)
        self.assertIn("cannot run", cm.exception.line)

    def test_engine_down_raises_with_record(self):
        j = Jobcell(BIN, config=os.path.join(TMP, SITE_DOWN + ".ini"))
        with self.assertRaises(JobcellError) as cm:
            j.ps()
        self.assertEqual(cm.exception.status, 125)
        self.assertEqual(cm.exception.kind, "engine")
        with self.assertRaises(JobcellError) as cm:
            j.check()
        self.assertEqual(cm.exception.status, 125)
        self.assertIn("rows", cm.exception.record)  # what check found before it failed


class Run(Base):
    def setUp(self):
        super().setUp()
        self.engine_needed()

    def test_exit_status_passed_through(self):
        r = self.jc.run("exit3", ["sh", "-c", "exit 3"])
        self.assertEqual((r.status, r.job_status, r.timed_out), (3, 3, False))
        self.assertFalse(r.ok)
        with self.assertRaises(JobExitError) as cm:
            self.jc.run("exit3", ["sh", "-c", "exit 3"], check=True)
        self.assertEqual(cm.exception.status, 3)
        self.assert_gone("exit3")

    def test_job_exiting_125_is_not_jobcells_failure(self):
        # the record tells a job's own 125 from jobcell's
        r = self.jc.run("exit125", ["sh", "-c", "echo 'jobcell: error: forged' >&2; exit 125"])
        self.assertEqual((r.status, r.job_status), (125, 125))
        self.assertIn(b"forged", r.stderr)

    def test_stdout_and_stderr_apart_and_binary(self):
        # valid UTF-8 only: Docker's json-file log driver, which the output
        # comes through, turns other bytes into U+FFFD (README.md, Limits)
        r = self.jc.run("io", ["sh", "-c", r"printf 'out\000caf\303\251'; printf 'err\n' >&2"])
        self.assertEqual(r.status, 0)
        self.assertEqual(r.stdout, b"out\x00caf\xc3\xa9")
        self.assertEqual(r.stderr, b"err\n")

    def test_no_shell_between(self):
        word = "$(id) ; `x` | & > 'q' \"d\" *"
        r = self.jc.run("noshell", ["echo", word], env={"A": "x y;$z"})
        self.assertEqual(r.stdout, word.encode() + b"\n")
        r = self.jc.run("env", ["sh", "-c", 'printf %s "$A"'], env={"A": "x y;$z"})
        self.assertEqual(r.stdout, b"x y;$z")

    def test_stdin_json_through_cat(self):
        params = {"name": "caf\u00e9", "items": list(range(20000)), "nested": {"a": [1, None, True]}}
        data = json.dumps(params).encode()
        self.assertGreater(len(data), 65536)  # more than one read of jobcell's
        r = self.jc.run("stdin", ["cat"], stdin=data)
        self.assertEqual(r.status, 0)
        self.assertEqual(json.loads(r.stdout), params)
        # a job that never reads its stdin still ends
        r = self.jc.run("stdin2", ["true"], stdin=b"x" * 300000)
        self.assertEqual(r.status, 0)

    def test_timeout_gives_124_and_leaves_no_container(self):
        r = self.jc.run("slow", ["sleep", "30"], timeout=1)
        self.assertEqual(r.status, jobcell.EXIT_TIMEOUT)
        self.assertTrue(r.timed_out)
        self.assertIn(b"timed out", r.stderr)
        self.assert_gone("slow")
        self.assertEqual([p for p in self.jc.ps(all=True) if p["job"] == "slow"], [])

    def test_interrupted_caller_leaves_no_container(self):
        # an exception in the caller's thread mid-run (as KeyboardInterrupt
        # would be): jobcell gets SIGTERM, stops the job, removes it
        class Interrupted(Exception):
            pass

        started = threading.Event()

        def on_alarm(signum, frame):
            raise Interrupted()

        old = signal.signal(signal.SIGALRM, on_alarm)
        try:
            def ready(cid):
                started.set()
                signal.setitimer(signal.ITIMER_REAL, 0.5)

            with self.assertRaises(Interrupted):
                self.jc.run("intr", ["sleep", "30"], ready=ready)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        self.assertTrue(started.is_set())
        self.assert_gone("intr")

    def test_ready_callback_before_the_end(self):
        seen = []
        done = threading.Event()

        def ready(cid):
            seen.append((cid, done.is_set(), container_exists(cid)))

        r = self.jc.run("ready", ["sleep", "1"], ready=ready)
        done.set()
        self.assertEqual(len(seen), 1)
        cid, was_done, existed = seen[0]
        self.assertEqual(cid, r.container)
        self.assertEqual(r.ready, r.container)
        self.assertFalse(was_done)
        self.assertTrue(existed, "the container was not there when ready was called")

    def test_ready_not_called_when_refused_and_missing_image(self):
        seen = []
        with self.assertRaises(JobcellError) as cm:
            self.jc.run("noimg", ["true"], image="jobcell-test/no-such-image:latest",
                        ready=seen.append)
        self.assertEqual(cm.exception.status, 125)
        self.assertIn("no-such-image", cm.exception.line)
        self.assertEqual(seen, [])
        self.assert_gone("noimg")

    def test_command_not_found_is_127(self):
        with self.assertRaises(JobcellError) as cm:
            self.jc.run("nocmd", ["no-such-command-here"])
        self.assertEqual(cm.exception.status, jobcell.EXIT_NOTFOUND)
        self.assert_gone("nocmd")


class Detached(Base):
    def setUp(self):
        super().setUp()
        self.engine_needed()

    def test_start_wait_logs_rm_ps(self):
        s = self.jc.start("det", ["sh", "-c", "echo hi; echo oops >&2; exit 4"])
        self.assertRegex(s.container, "^[0-9a-f]{64}$")
        w = self.jc.wait("det")
        self.assertEqual((w.status, w.timed_out), (4, False))
        self.assertEqual(self.jc.logs("det"), (b"hi\n", b"oops\n"))
        listed = [p for p in self.jc.ps(all=True) if p["job"] == "det"]
        self.assertEqual(len(listed), 1)
        self.assertEqual((listed[0]["container"], listed[0]["supervisor"]), (s.container, "detached"))
        self.jc.rm("det")
        self.assertEqual([p for p in self.jc.ps(all=True) if p["job"] == "det"], [])
        with self.assertRaises(JobcellError) as cm:
            self.jc.wait("det")
        self.assertEqual(cm.exception.status, 125)

    def test_stop_and_wait_timeout(self):
        self.jc.start("stopme", ["sleep", "30"])
        try:
            w = self.jc.wait("stopme", timeout=0.2)
            self.assertEqual((w.status, w.timed_out), (124, True))
            self.assertTrue(any(p["job"] == "stopme" for p in self.jc.ps()))
            self.jc.stop("stopme", grace=1)
            w = self.jc.wait("stopme")
            self.assertIn(w.status, (137, 143))
        finally:
            self.jc.rm("stopme")
        self.assert_gone("stopme")

    def test_gc(self):
        self.jc.start("gcjob", ["sleep", "30"])
        try:
            g = self.jc.gc(dry_run=True)
            self.assertTrue(g["dry_run"])
            self.assertFalse(any(i["removed"] for i in g["items"]), g)
            g = self.jc.gc()
            self.assertFalse(g["dry_run"])
            # detached and without a deadline: gc leaves it to its caller
            self.assertTrue(container_exists("jobcell-%s-gcjob" % SITE))
        finally:
            self.jc.rm("gcjob")


class Volumes(Base):
    def setUp(self):
        super().setUp()
        self.engine_needed()
        self.xfer = os.path.join(TMP, "xfer")

    def test_put_get_binary_exact(self):
        rnd = random.Random(14)
        files = {
            "all-bytes.bin": bytes(range(256)) * 64,
            "random.bin": bytes(rnd.getrandbits(8) for _ in range(300000)),
            "sub/dir/crlf.txt": b"line\r\n\x00end",
            "empty": b"",
        }
        src = os.path.join(self.xfer, "src")
        for name, data in files.items():
            p = os.path.join(src, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        v = self.jc.volume_create(tenant="t1", run_id="r1")
        try:
            listed = [x for x in self.jc.volume_ls() if x["volume"] == v]
            self.assertEqual(len(listed), 1)
            self.assertEqual((listed[0]["tenant"], listed[0]["run"], listed[0]["keep"]), ("t1", "r1", True))
            self.jc.volume_put(v, "src:in", ("src/all-bytes.bin", "top.bin"))
            got = self.jc.volume_get(v, "got")
            self.assertFalse(got.refused, got.warnings)
            for name, data in files.items():
                with open(os.path.join(self.xfer, "got", "in", name), "rb") as f:
                    self.assertEqual(f.read(), data, name)
            with open(os.path.join(self.xfer, "got", "top.bin"), "rb") as f:
                self.assertEqual(f.read(), files["all-bytes.bin"])
            got = self.jc.volume_get(v, "one", ["in/sub/dir"])
            self.assertEqual(os.listdir(os.path.join(self.xfer, "one")), ["dir"])
            with self.assertRaises(JobcellError) as cm:
                self.jc.volume_get(v, "bad", ["../x"])
            self.assertIn("`..`", cm.exception.line)
        finally:
            self.jc.volume_rm(v)
        self.assertEqual([x for x in self.jc.volume_ls() if x["volume"] == v], [])
        with self.assertRaises(JobcellError) as cm:
            self.jc.volume_rm(v)
        self.assertEqual(cm.exception.status, 125)


class VolumeMode(Base):
    """A volume-mode site: inputs in, outputs out, a kept volume read by a
    later job of its tenant and refused to another tenant."""

    def setUp(self):
        super().setUp()
        self.engine_needed()
        for v in SITE_VOLUMES:  # labelled, so that tearDownModule finds them
            st, _ = engine("POST", "/volumes/create", {"Name": v, "Labels": {"jobcell-test.run": SITE}})
            self.assertEqual(st, 201)
        self.jc = Jobcell(BIN, config=os.path.join(TMP, SITE_VOL + ".ini"), cwd=os.path.join(TMP, "xfer"))
        self.xfer = os.path.join(TMP, "xfer")

    def test_inputs_output_and_a_chained_volume(self):
        with open(os.path.join(self.xfer, "params.json"), "wb") as f:
            f.write(b'{"n": 7}')
        r = self.jc.run("vm", ["sh", "-c", "cat params.json; cat > from-stdin; echo made > result.txt"],
                        tenant="t1", inputs=["params.json"], output="vmout", stdin=b"\x00\x01stdin")
        self.assertEqual((r.status, r.stdout), (0, b'{"n": 7}'))
        self.assertTrue(r.volume)
        with open(os.path.join(self.xfer, "vmout", "result.txt"), "rb") as f:
            self.assertEqual(f.read(), b"made\n")
        with open(os.path.join(self.xfer, "vmout", "from-stdin"), "rb") as f:
            self.assertEqual(f.read(), b"\x00\x01stdin")
        self.assertNotIn(r.volume, site_volumes(SITE_VOL))  # not kept: removed

        repo = self.jc.volume_create(tenant="t1", run_id="clone")
        try:
            self.jc.volume_put(repo, ("params.json", "repo.json"))
            for scanner in ("scan1", "scan2"):
                r = self.jc.run(scanner, ["cat", "/src/repo.json"], tenant="t1", mount_volumes={repo: "/src"})
                self.assertEqual((r.status, r.stdout), (0, b'{"n": 7}'))
            r = self.jc.run("scanw", ["sh", "-c", "echo x > /src/w"], tenant="t1", mount_volumes={repo: "/src"})
            self.assertNotEqual(r.status, 0)  # read-only
            with self.assertRaises(JobcellError) as cm:
                self.jc.run("other", ["true"], tenant="t2", mount_volumes={repo: "/src"})
            self.assertEqual(cm.exception.status, 125)
            self.assertIn("is not tenant `t2`'s", cm.exception.line)
            self.assertFalse(container_exists("jobcell-%s-other" % SITE_VOL))
        finally:
            self.jc.volume_rm(repo)
        self.assertEqual(site_volumes(SITE_VOL), [])


class Site(Base):
    def setUp(self):
        super().setUp()
        self.engine_needed()

    def test_check_is_a_result(self):
        c = self.jc.check()
        self.assertIn(c.status, (0, 1))
        self.assertEqual(c.ok, c.status == 0)
        names = {r["name"] for r in c.rows}
        self.assertIn("config", names)
        self.assertIn("workspace-root-readonly", names)


class Install(Base):
    def test_pip_install_into_a_venv(self):
        venv = os.path.join(TMP, "venv")
        # a python whose venv can build the package offline: setuptools and
        # bdist_wheel (setuptools >= 70.1 has it; older ones need wheel),
        # its own or the system's
        probe = ("import setuptools\ntry:\n import setuptools.command.bdist_wheel\n"
                 "except ImportError:\n import wheel.bdist_wheel\n")
        pythons = [sys.executable] + [p for p in ("/usr/bin/python3",)
                                      if os.path.exists(p) and os.path.realpath(p) != os.path.realpath(sys.executable)]
        why = "no python here makes a venv that has setuptools and bdist_wheel offline"
        py = None
        for base in pythons:
            for extra in ([], ["--system-site-packages"]):
                shutil.rmtree(venv, ignore_errors=True)
                if subprocess.run([base, "-m", "venv"] + extra + [venv], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode != 0:
                    continue
                cand = os.path.join(venv, "bin", "python")
                if subprocess.run([cand, "-c", probe], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode == 0:
                    py, why = cand, None
                    break
            if py:
                break
        self.need(why)
        # a copy: the build writes *.egg-info and build/ next to the sources
        src = os.path.join(TMP, "pkg")
        shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("tests", "__pycache__", "build", "*.egg-info"))
        p = subprocess.run([py, "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation",
                            src], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
        self.assertEqual(p.returncode, 0, p.stdout.decode(errors="replace"))
        p = subprocess.run([py, "-c", "import jobcell, sys; print(jobcell.__file__); "
                            "print(jobcell.Jobcell(sys.argv[1]).version())", BIN],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=TMP)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        where, version = p.stdout.decode().splitlines()
        self.assertTrue(where.startswith(venv + os.sep), where)
        self.assertTrue(version.startswith("jobcell "), version)


if __name__ == "__main__":
    unittest.main()
