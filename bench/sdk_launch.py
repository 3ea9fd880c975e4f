#!/usr/bin/python3
"""One job launched with the Docker SDK (Debian's python3-docker), the way a
federated-learning launcher does it: containers.run(detach=True), then
wait(), logs() and remove().  The same image, user, mounts and options as
`jobcell run` in bind mode (see `jobcell plan`), and `true` as the command.

Usage: bench/sdk_launch.py SOCKET WORKSPACE JOB SITE
Exits with the job's status.
"""
import sys

import docker
from docker.types import Mount


def run_job(client, ws, job, site, argv):
    """Launch, wait, read the logs, remove: (status, logs).  bench/sdk_many.py
    launches its jobs with this too."""
    mounts = [
        Mount("/workspace/startup", ws + "/startup", type="bind", read_only=True),
        Mount("/workspace/local", ws + "/local", type="bind", read_only=True),
        Mount("/workspace/" + job, ws + "/" + job, type="bind"),
        Mount("/tmp", None, type="tmpfs", tmpfs_size=64 << 20, tmpfs_mode=0o1777),
    ]
    container = client.containers.run(
        "jobcell-test/root:latest",
        argv,
        detach=True,
        user="0:0",
        working_dir="/workspace/" + job,
        network_mode="none",
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        pids_limit=512,
        shm_size="64m",
        tmpfs={"/workspace": "ro,mode=0555,size=1m"},
        mounts=mounts,
        labels={"jobcell-bench": site},
    )
    try:
        status = container.wait()
        logs = container.logs()
    finally:
        container.remove(force=True)
    return status["StatusCode"], logs


def main():
    sock, ws, job, site = sys.argv[1:5]
    client = docker.DockerClient(base_url="unix://" + sock)
    status, logs = run_job(client, ws, job, site, ["true"])
    sys.stdout.buffer.write(logs)
    return status


if __name__ == "__main__":
    sys.exit(main())
