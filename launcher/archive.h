/* Tar streams (libarchive) (archive.c). */
#ifndef JC_ARCHIVE_H
#define JC_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "util.h"

struct jc_extract_report {
	size_t extracted;       /* members written */
	size_t refused;         /* members refused */
	struct jc_strv reasons; /* "`name`: why", the first 100 */
	bool cut;               /* a limit or a full disk ended it: the error says which */
};

/* What extraction may bring onto the host ([output] keys; 0: no limit),
 * and what it has used: one budget for every fetch of one `volume get`. */
struct jc_extract_limits {
	uint64_t max_bytes;   /* bytes read from the stream, headers included,
				 plus the length a sparse member claims without sending */
	uint64_t max_members; /* members of every type, refused ones too */
	uint64_t max_depth;   /* components of a member's name */
	uint64_t bytes;       /* used so far */
	uint64_t members;
	struct jc_strv *made; /* what the output made, to take back when cut */
};
/* Free what the limits hold (not the struct). */
void jc_extract_limits_free(struct jc_extract_limits *lim);

/* Extract the tar stream read from `tar_fd` into the directory `dest_fd`,
 * dropping the first `strip` components of every name.  Each member is
 * judged on its own and, when refused, skipped and reported in *rep: names
 * that are empty, absolute or hold `..`; paths through a symlink or onto a
 * planted symlink or fifo; symlinks and hard links leading outside; device
 * nodes and fifos.  setuid, setgid and sticky bits and others' write bit
 * are dropped; owners are not kept; a 4 KiB block of zeros becomes a hole.
 * A malformed or truncated stream or a failing write is an error.  `lim`
 * (NULL: none) ends the extraction at once, an error with rep->cut set, at
 * the first byte past max_bytes (nothing more is read from `tar_fd`), the
 * first member past max_members or deeper than max_depth; so does a full
 * disk (ENOSPC, EDQUOT); then everything this output made (every extraction
 * with the same `lim`) is removed again, newest first, through
 * descriptors: files, links and directories it created (a file it
 * overwrote stays, as written).  Other failures leave what was written.
 * *rep is filled on failure too; the caller frees it with
 * jc_extract_report_free, and `lim` with jc_extract_limits_free. */
int jc_archive_extract(int tar_fd, int dest_fd, unsigned strip, struct jc_extract_limits *lim,
		       struct jc_extract_report *rep, jc_error *err);
void jc_extract_report_free(struct jc_extract_report *rep);

/* A relative path inside a volume or job directory: not empty, not
 * absolute, components not empty, `.` or `..`, no control bytes, each at
 * most 255 bytes, all at most 4095.  `what` names the input in the message. */
int jc_path_check(const char *path, const char *what, jc_error *err);

/* One file or directory to send into a volume. */
struct jc_input {
	char *spec; /* "SRC[:DEST]" as given, for messages */
	char *dest; /* checked relative path inside the target */
	int fd;     /* the source, opened beneath the base directory */
	bool is_dir;
};
/* Parse "SRC[:DEST]" (split at the first `:`) and open SRC beneath the
 * directory `base_fd` without following any symlink (openat2
 * RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS, or a walk with
 * O_NOFOLLOW where openat2 is missing).  SRC is a relative path to a regular
 * file or a directory; DEST defaults to SRC's last component.  Both are
 * checked with jc_path_check. */
int jc_input_open(const char *spec, int base_fd, struct jc_input *out, jc_error *err);
void jc_input_close(struct jc_input *in);
/* Walk every input through descriptors: only regular files and directories,
 * names that pass jc_path_check, no two inputs with the same DEST.  Adds up
 * the bytes of data.  Writes nothing. */
int jc_input_scan(const struct jc_input *in, size_t n, uint64_t *bytes, jc_error *err);

/* A member named "/" is the target directory itself on both engines: Docker
 * skips a "." member (the target exists), but not "/", which its extraction
 * joins onto the target; Podman takes either as the target.  So it is the
 * one member that gives an existing target its owner and mode. */
#define JC_TAR_ROOT_TARGET "/"
struct jc_tar_opts {
	const char *root; /* a leading directory entry ("/", "." or "v"); every input
			     goes beneath it as root/DEST, beneath "/" as DEST;
			     NULL: none, inputs as DEST */
	unsigned root_mode;
	uid_t uid; /* owner of every member */
	gid_t gid;
};
/* Write a tar stream of the inputs to `out_fd` (a pipe or a socket; a
 * closed reader is an error, never SIGPIPE).  Directories are walked again
 * through descriptors; data is copied in blocks, so memory does not grow
 * with file size.  Permission bits are kept but setuid, setgid and sticky;
 * every owner is uid:gid.  A file that changed size since it was opened is
 * an error. */
int jc_archive_write(int out_fd, const struct jc_tar_opts *o, const struct jc_input *in, size_t n,
		     jc_error *err);

#endif
