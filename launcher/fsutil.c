/* Opening and creating beneath a directory without following symlinks. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "cleanup.h"
#include "fsutil.h"

int jc_fs_open_dir(int base, const char *path, bool create, int *out, jc_error *err)
{
	cleanup_free char *copy = strdup(path);
	char *save = NULL, *comp, *next;
	int cur;

	if (!copy)
		return jc_error_oom(err);
	if (jc_path_check(path, "output directory", err) < 0)
		return -1;
	if ((cur = dup(base)) < 0)
		return jc_error_set(err, JC_ERR_SYSTEM, errno, "dup: %s", strerror(errno));
	for (comp = strtok_r(copy, "/", &save); comp; comp = next) {
		int fd;
		next = strtok_r(NULL, "/", &save);
		fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && !next && !create) {
			close(cur);
			*out = -1;
			return 0;
		}
		if (fd < 0 && errno == ENOENT && !next && mkdirat(cur, comp, 0700) == 0)
			fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			close(cur);
			return jc_error_set(err, JC_ERR_INPUT, e, "output directory `%s`: `%s`: %s",
					    path, comp,
					    e == ELOOP || e == ENOTDIR
						? "not a directory (symlinks are not followed)"
						: strerror(e));
		}
		close(cur);
		cur = fd;
	}
	*out = cur;
	return 0;
}
