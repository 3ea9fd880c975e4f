/* libarchive, loaded when files first move rather than at every start:
 * loading it and the libraries it needs (libxml2, ICU, libstdc++, lzma,
 * bzip2, lz4, acl) took a third of a launch's instructions, and only the
 * transfers use it (docs/performance.md).  archive.c includes this header
 * instead of <archive.h>: the functions it calls are then members of one
 * table, each typed by libarchive's own declaration, filled by dlopen and
 * dlsym. */
#ifndef JC_ARCHIVE_LIB_H
#define JC_ARCHIVE_LIB_H

#include <archive.h>
#include <archive_entry.h>

#include "error.h"

/* Every libarchive function jobcell calls (tests/test_archive.c links
 * them all and compares the table with them). */
#define JC_LIBARCHIVE_FUNCS(X)                                                                    \
	X(archive_entry_filetype)                                                                 \
	X(archive_entry_free)                                                                     \
	X(archive_entry_hardlink)                                                                 \
	X(archive_entry_new)                                                                      \
	X(archive_entry_pathname)                                                                 \
	X(archive_entry_perm)                                                                     \
	X(archive_entry_set_filetype)                                                             \
	X(archive_entry_set_gid)                                                                  \
	X(archive_entry_set_mtime)                                                                \
	X(archive_entry_set_pathname)                                                             \
	X(archive_entry_set_perm)                                                                 \
	X(archive_entry_set_size)                                                                 \
	X(archive_entry_set_uid)                                                                  \
	X(archive_entry_size)                                                                     \
	X(archive_entry_symlink)                                                                  \
	X(archive_errno)                                                                          \
	X(archive_filter_bytes)                                                                   \
	X(archive_error_string)                                                                   \
	X(archive_read_data_block)                                                                \
	X(archive_read_data_skip)                                                                 \
	X(archive_read_free)                                                                      \
	X(archive_read_new)                                                                       \
	X(archive_read_next_header)                                                               \
	X(archive_read_open)                                                                      \
	X(archive_read_support_format_tar)                                                        \
	X(archive_set_error)                                                                      \
	X(archive_write_close)                                                                    \
	X(archive_write_data)                                                                     \
	X(archive_write_free)                                                                     \
	X(archive_write_header)                                                                   \
	X(archive_write_new)                                                                      \
	X(archive_write_open)                                                                     \
	X(archive_write_set_bytes_in_last_block)                                                  \
	X(archive_write_set_bytes_per_block)                                                      \
	X(archive_write_set_format_pax_restricted)

struct jc_libarchive {
#define JC_LA_MEMBER(f) __typeof__(f) *f;
	JC_LIBARCHIVE_FUNCS(JC_LA_MEMBER)
#undef JC_LA_MEMBER
};

/* The table; its members are valid once jc_libarchive_load succeeded. */
extern struct jc_libarchive jc_libarchive;

/* The file dlopen is given: libarchive's soname, 13 since libarchive 3.0. */
#define JC_LIBARCHIVE_SONAME "libarchive.so.13"

/* Load libarchive and fill the table, once per process (thread-safe; a
 * failure is tried again at the next call).  Returns 0, or -1 with err
 * (JC_ERR_SYSTEM, ELIBACC) naming the library and dlopen's or dlsym's
 * words. */
int jc_libarchive_load(jc_error *err);

/* In archive.c, the calls go through the table. */
#ifndef JC_LIBARCHIVE_TABLE_ONLY
#define archive_entry_filetype (jc_libarchive.archive_entry_filetype)
#define archive_entry_free (jc_libarchive.archive_entry_free)
#define archive_entry_hardlink (jc_libarchive.archive_entry_hardlink)
#define archive_entry_new (jc_libarchive.archive_entry_new)
#define archive_entry_pathname (jc_libarchive.archive_entry_pathname)
#define archive_entry_perm (jc_libarchive.archive_entry_perm)
#define archive_entry_set_filetype (jc_libarchive.archive_entry_set_filetype)
#define archive_entry_set_gid (jc_libarchive.archive_entry_set_gid)
#define archive_entry_set_mtime (jc_libarchive.archive_entry_set_mtime)
#define archive_entry_set_pathname (jc_libarchive.archive_entry_set_pathname)
#define archive_entry_set_perm (jc_libarchive.archive_entry_set_perm)
#define archive_entry_set_size (jc_libarchive.archive_entry_set_size)
#define archive_entry_set_uid (jc_libarchive.archive_entry_set_uid)
#define archive_entry_size (jc_libarchive.archive_entry_size)
#define archive_entry_symlink (jc_libarchive.archive_entry_symlink)
#define archive_errno (jc_libarchive.archive_errno)
#define archive_filter_bytes (jc_libarchive.archive_filter_bytes)
#define archive_error_string (jc_libarchive.archive_error_string)
#define archive_read_data_block (jc_libarchive.archive_read_data_block)
#define archive_read_data_skip (jc_libarchive.archive_read_data_skip)
#define archive_read_free (jc_libarchive.archive_read_free)
#define archive_read_new (jc_libarchive.archive_read_new)
#define archive_read_next_header (jc_libarchive.archive_read_next_header)
#define archive_read_open (jc_libarchive.archive_read_open)
#define archive_read_support_format_tar (jc_libarchive.archive_read_support_format_tar)
#define archive_set_error (jc_libarchive.archive_set_error)
#define archive_write_close (jc_libarchive.archive_write_close)
#define archive_write_data (jc_libarchive.archive_write_data)
#define archive_write_free (jc_libarchive.archive_write_free)
#define archive_write_header (jc_libarchive.archive_write_header)
#define archive_write_new (jc_libarchive.archive_write_new)
#define archive_write_open (jc_libarchive.archive_write_open)
#define archive_write_set_bytes_in_last_block                                                     \
	(jc_libarchive.archive_write_set_bytes_in_last_block)
#define archive_write_set_bytes_per_block                                                         \
	(jc_libarchive.archive_write_set_bytes_per_block)
#define archive_write_set_format_pax_restricted                                                   \
	(jc_libarchive.archive_write_set_format_pax_restricted)
#endif

#endif
