#!/usr/bin/python3
"""N jobs launched at once with the Docker SDK from one Python process, the
way a workflow worker with a thread per task does it: each thread runs
containers.run(detach=True), wait(), logs() and remove(), with the options
of sdk_launch.py and `sleep S` as the command.  The job directories are
WORKSPACE/j1 ... WORKSPACE/jN.  Writes its pid to PIDFILE first.

Usage: bench/sdk_many.py SOCKET WORKSPACE SITE N S PIDFILE
Exits 0 when every job exited 0.
"""
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import docker

from sdk_launch import run_job


def one(client, ws, site, i, secs):
    return run_job(client, ws, "j%d" % i, site, ["sleep", secs])[0]


def main():
    sock, ws, site, n, secs, pidfile = sys.argv[1:7]
    with open(pidfile, "w") as f:
        f.write("%d\n" % os.getpid())
    # one client, as one process would have; its pool holds a connection
    # per thread
    client = docker.DockerClient(base_url="unix://" + sock, max_pool_size=int(n))
    with ThreadPoolExecutor(max_workers=int(n)) as pool:
        codes = list(pool.map(lambda i: one(client, ws, site, i, secs), range(1, int(n) + 1)))
    return 0 if all(c == 0 for c in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
