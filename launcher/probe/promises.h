/* The promises the isolation probe reports, shared by the probe
 * (launcher/probe/probe.c, built static and on its own) and by jobcell's
 * reader of its report (launcher/check.c).  One line per promise:
 *
 *     <name> TAB kept|broken|unknown TAB <detail> LF
 *
 * Lines that start with `#` are comments.  X(ID, name, what is promised) */
#ifndef JC_PROBE_PROMISES_H
#define JC_PROBE_PROMISES_H

#define JC_PROBE_PROMISES(X)                                                                       \
	X(ROOT_READONLY, "workspace-root-readonly",                                                \
	  "nothing can be created in the workspace root, and its mount is read-only")              \
	X(ROOT_MODE, "workspace-root-mode", "the workspace root has the mode root_mode")           \
	X(SIBLINGS_INVISIBLE, "siblings-invisible",                                                \
	  "the workspace root lists startup, local and the job only; no sibling is reachable")     \
	X(STARTUP_READONLY, "startup-readonly", "startup/ is readable and mounted read-only")      \
	X(LOCAL_READONLY, "local-readonly", "local/ is readable and mounted read-only")            \
	X(JOB_WRITABLE, "job-dir-writable",                                                        \
	  "the job can create and remove files in its directory")                                  \
	X(WORKDIR, "workdir-is-job-dir", "the working directory is the job directory")             \
	X(JOB_PRIVATE, "job-dir-private", "the job directory has no group or other permission")    \
	X(NO_ENGINE_SOCKET, "no-engine-socket", "no engine socket, nor any socket mounted in")     \
	X(CAPABILITIES, "capabilities", "no capability beyond the site's cap_add")                 \
	X(NO_NEW_PRIVS, "no-new-privileges", "NoNewPrivs is set")                                  \
	X(ROOTFS_READONLY, "rootfs-readonly", "the root file system is mounted read-only")         \
	X(NETWORK, "network", "with network = none, only the loopback interface")                  \
	X(WRITABLE_MOUNTS, "writable-mounts-sized",                                                \
	  "every writable mount is the job directory or one the site sized")                       \
	X(VOLUME_SIZE, "volume-size-capped", "the job directory takes no more than [volume] size") \
	X(SCRATCH, "scratch-writable",                                                             \
	  "each [workspace] scratch directory is writable and a tmpfs of scratch_size")

#endif
