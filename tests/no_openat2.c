/* no-openat2 PROGRAM [ARG...]: run PROGRAM with openat2(2) failing ENOSYS,
 * as on Linux before 5.6, so that the unit suite also exercises the
 * O_NOFOLLOW walk of fsutil.c.  crun's tests force their fallbacks the same
 * way: a seccomp filter, inherited across fork and exec.  Sets
 * JC_TEST_NO_OPENAT2=1 so that a test can check that the filter holds. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define JC_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define JC_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "no-openat2: add this architecture's AUDIT_ARCH_ value"
#endif

#ifndef SYS_openat2
#define SYS_openat2 437 /* one number on every architecture (Linux 5.6) */
#endif

int main(int argc, char **argv)
{
	/* Syscall numbers mean something only for one ABI: a call made through
	 * another (a 32-bit one) is let through untouched.  x32 calls carry
	 * __X32_SYSCALL_BIT and so do not match either; the tests are 64-bit. */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, JC_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(code) / sizeof(code[0])),
		.filter = code,
	};

	if (argc < 2) {
		fprintf(stderr, "usage: no-openat2 PROGRAM [ARG...]\n");
		return 2;
	}
	/* without CAP_SYS_ADMIN the kernel takes a filter only from a process
	 * that can gain no privileges; as root it does no harm either */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		fprintf(stderr, "no-openat2: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
		return 1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		fprintf(stderr, "no-openat2: install the seccomp filter: %s\n", strerror(errno));
		return 1;
	}
	if (setenv("JC_TEST_NO_OPENAT2", "1", 1) < 0) {
		fprintf(stderr, "no-openat2: setenv: %s\n", strerror(errno));
		return 1;
	}
	execv(argv[1], argv + 1);
	fprintf(stderr, "no-openat2: exec `%s`: %s\n", argv[1], strerror(errno));
	return 127;
}
