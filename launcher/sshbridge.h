/* The ssh transport (sshbridge.c): the Engine API carried by
 * `ssh ... host docker system dial-stdio`, as the docker CLI does, reached
 * by libcurl through a unix socket that jobcell listens on. */
#ifndef JC_SSHBRIDGE_H
#define JC_SSHBRIDGE_H

#include <stdint.h>
#include "endpoint.h"
#include "error.h"

struct jc_sshbridge;

/* Check ssh's view of the target (`ssh -G`: StrictHostKeyChecking off is
 * refused, never silently used), make a private 0700 directory (under
 * $TMPDIR, else /tmp), listen on a unix socket in it, and start a thread
 * that hands each accepted connection to its own ssh process:
 *   ssh [-F config] [-i identity -o IdentitiesOnly=yes]
 *       [-o UserKnownHostsFile=FILE] -o BatchMode=yes
 *       -o ConnectTimeout=<timeout s> [-p port] [-l user] -T --
 *       host docker [--host unix://PATH] system dial-stdio
 * with the connection as its stdin and stdout and its stderr to a 0600 file
 * in the directory (one per connection).  `timeout_ms` <= 0: no
 * ConnectTimeout.  A host, user or remote socket that could not pass
 * through the remote shell unchanged is refused (JC_ERR_CONFIG), as is an
 * ssh that is not on PATH.  Free with jc_sshbridge_close. */
int jc_sshbridge_open(const struct jc_endpoint *ep, int64_t timeout_ms, struct jc_sshbridge **out,
		      jc_error *err);
/* The socket to give libcurl (CURLOPT_UNIX_SOCKET_PATH); the bridge's. */
const char *jc_sshbridge_socket(const struct jc_sshbridge *b);
/* The last non-empty line an ssh of this bridge wrote to its stderr (of
 * the newest connection whose ssh wrote one), control characters replaced,
 * or NULL: what to say when a request failed ("Host key verification
 * failed.", "Permission denied (publickey).", the remote shell's "docker:
 * not found", the remote docker's "cannot connect").  Caller frees. */
char *jc_sshbridge_why(struct jc_sshbridge *b);
/* Stop the thread, SIGTERM then reap every ssh it started (by pid), remove
 * the socket, the files and the directory.  NULL is fine. */
void jc_sshbridge_close(struct jc_sshbridge *b);

#endif
