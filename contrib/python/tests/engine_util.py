"""What the client's and the NVFlare launchers' tests share: where the
binary and the engine are, requests to the engine over its unix socket, and
why the engine tests cannot run (test_client.py's docstring says how they
use it)."""

import http.client
import json
import os
import socket
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)  # contrib/python
ROOT = os.path.dirname(os.path.dirname(PKG))
BIN = os.environ.get("JOBCELL_BIN") or os.path.join(ROOT, "build", "jobcell")
SOCK = os.environ.get("JOBCELL_TEST_SOCKET", "/var/run/docker.sock")
REQUIRE = os.environ.get("JOBCELL_REQUIRE_ENGINE", "0") == "1"
IMAGE = "jobcell-test/root:latest"


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=20)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(20)
            s.connect(self._path)
        except OSError:
            s.close()
            raise
        self.sock = s


def engine(method, path, body=None):
    """(status, parsed JSON or raw bytes) of one request to the engine."""
    c = _UnixHTTP(SOCK)
    try:
        if body is None:
            c.request(method, path)
        else:
            c.request(method, path, json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
    finally:
        c.close()
    try:
        return r.status, json.loads(body) if body else None
    except ValueError:
        return r.status, body


def label_filter(kv):
    return urllib.parse.quote(json.dumps({"label": [kv]}))


def site_containers(site):
    st, body = engine("GET", "/containers/json?all=1&filters=" + label_filter("jobcell.site=" + site))
    return [c["Id"] for c in body] if st == 200 else []


def site_volumes(site):
    st, body = engine("GET", "/volumes?filters=" + label_filter("jobcell.site=" + site))
    return [v["Name"] for v in (body or {}).get("Volumes") or []] if st == 200 else []


def engine_why():
    """Why the engine tests cannot run here, or None."""
    if not os.access(BIN, os.X_OK):
        return "no jobcell binary at %s (make all, or set JOBCELL_BIN)" % BIN
    try:
        st, _ = engine("GET", "/_ping")
        if st != 200:
            return "the engine on %s answers %d to /_ping" % (SOCK, st)
        if engine("GET", "/images/%s/json" % IMAGE)[0] != 200:
            return "image %s is missing (run contrib/bootstrap.sh)" % IMAGE
    except OSError as e:
        return "no engine answers on %s (%s; run contrib/bootstrap.sh)" % (SOCK, e)
    return None
