/* Where the engine is and how to reach it (endpoint.c): the endpoint forms
 * the Docker tools spell (unix://, tcp:// with TLS, ssh://), where they come
 * from (the site file, $DOCKER_HOST, a Docker context), and the rules that
 * refuse an engine reached in the clear. */
#ifndef JC_ENDPOINT_H
#define JC_ENDPOINT_H

#include <stdbool.h>
#include "error.h"

struct jc_config;

enum jc_transport {
	JC_TRANSPORT_UNIX, /* a local socket: the only one bind mode may use */
	JC_TRANSPORT_TCP,  /* plaintext: a loopback host, or [engine] insecure_plaintext */
	JC_TRANSPORT_TLS,  /* tcp:// with a CA: the engine verified, a client certificate shown */
	JC_TRANSPORT_SSH,  /* ssh://: `docker system dial-stdio` on the far side (sshbridge.c) */
};

/* A parsed endpoint.  Strings are its own; the file names are the config's
 * and live as long as it. */
struct jc_endpoint {
	enum jc_transport transport;
	char *url;  /* as configured: what every message names */
	char *host; /* tcp, tls, ssh: a name or an address, never starting with '-' */
	int port;   /* tcp, tls; ssh: 0 for ssh's own default */
	char *path; /* unix: the socket; ssh: the socket on the far side, or NULL */
	char *user; /* ssh: or NULL for ssh's own default */
	bool loopback;
	/* tls: PEM files; cert and key both or neither */
	const char *tls_ca, *tls_cert, *tls_key;
	/* ssh: each NULL for ssh's own default */
	const char *ssh_identity, *ssh_known_hosts, *ssh_config;
};

/* Fill the config's endpoint, and its TLS files when the site file named
 * none, from where the Docker CLI would take them when the site files name
 * no endpoint: $DOCKER_HOST (with $DOCKER_TLS_VERIFY and $DOCKER_CERT_PATH),
 * then $DOCKER_CONTEXT, then the current context of $DOCKER_CONFIG (else
 * ~/.docker), then unix:///var/run/docker.sock.  Sets cfg->endpoint_from. */
int jc_endpoint_resolve(struct jc_config *cfg, jc_error *err);

/* Parse the config's endpoint and apply the rules: the form, TLS files
 * given whole, plaintext TCP only to a loopback host unless the site says
 * insecure_plaintext.  No I/O.  Free with jc_endpoint_free. */
int jc_endpoint_parse(const struct jc_config *cfg, struct jc_endpoint *out, jc_error *err);
/* The same for a bare URL with no TLS files nor ssh options (tests, tools). */
int jc_endpoint_parse_url(const char *url, struct jc_endpoint *out, jc_error *err);
void jc_endpoint_free(struct jc_endpoint *ep);

#endif
