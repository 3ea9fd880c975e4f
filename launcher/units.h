/* Parsers for INI values and options (units.c). */
#ifndef JC_UNITS_H
#define JC_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "util.h"

/* Longest duration accepted anywhere: ten years, so that deadlines computed
 * from the clock cannot overflow. */
#define JC_DURATION_MAX_MS (10LL * 366 * 24 * 3600 * 1000)

/* "30s", "5m", "1h", "250ms", "0"; a bare number is seconds; at most
 * JC_DURATION_MAX_MS.  Milliseconds out. */
int jc_parse_duration(const char *s, int64_t *ms);
/* "512m", "1g", "64k", "4096"; binary multiples.  Bytes out. */
int jc_parse_size(const char *s, int64_t *bytes);
/* Octal permission bits "0555" (at most 07777). */
int jc_parse_mode(const char *s, unsigned *mode);
/* true/false, yes/no, on/off, 1/0. */
int jc_parse_bool(const char *s, bool *b);
/* A non-negative decimal integer. */
int jc_parse_uint(const char *s, int64_t *v);
/* "uid" or "uid:gid", both numeric; "" is left to the image. */
int jc_parse_user(const char *s, uid_t *uid, gid_t *gid);
/* CPUs as a decimal number: "2", "1.5", "0.25"; no sign, at most three
 * decimals; 0 (no limit) or 0.01 to 1024.  Billionths of a CPU out
 * (HostConfig.NanoCpus). */
#define JC_NANO_CPUS_MIN INT64_C(10000000) /* 0.01: the engine's least */
#define JC_NANO_CPUS_MAX (INT64_C(1024) * 1000000000)
int jc_parse_cpus(const char *s, int64_t *nano);

/* GPUs asked of the engine (HostConfig.DeviceRequests, driver-chosen). */
#define JC_GPU_IDS_MAX   16
#define JC_GPU_ID_MAX    128 /* characters of one device id */
#define JC_GPU_COUNT_MAX 1024
/* jc_gpus.count of `slurm`: the devices of the Slurm allocation, found in
 * jobcell's environment at each launch (slurm.c) */
#define JC_GPUS_SLURM (-2)
struct jc_gpus {
	int64_t count;      /* 0: none (or the ids below); -1: all; N: any N;
			       JC_GPUS_SLURM: the allocation's */
	struct jc_strv ids; /* device ids ("0", "GPU-<uuid>"); count is 0 */
};
/* "" (none), "all", "slurm" (the allocation's), a count "2" ("0": none), or device ids "0,1" or
 * "GPU-<uuid>": 1 to JC_GPU_IDS_MAX distinct [A-Za-z0-9][A-Za-z0-9_-]* separated by
 * commas (spaces around them allowed), none of them all, none, void or slurm in
 * any case (words of the NVIDIA runtime).  A lone number is a count.  `out`
 * must hold a valid value (zeroed, or parsed); on success that is freed and
 * replaced, on failure left alone. */
int jc_parse_gpus(const char *s, struct jc_gpus *out);
int jc_gpus_copy(struct jc_gpus *dst, const struct jc_gpus *src);
void jc_gpus_free(struct jc_gpus *g);

#endif
