#!/usr/bin/env bash
# Certificates for the TLS tests, made with openssl at test time (ECDSA
# P-256: quick to make; valid for a day: nothing outlives the run that made
# it, and no key is ever kept in the tree).  The same steps as
# docs/remote.md, for tests/integration/tls.sh and tests/test_faults.c.
#   tls-certs.sh ca DIR NAME                  DIR/NAME.pem, DIR/NAME-key.pem
#   tls-certs.sh server DIR CA NAME SAN       a server certificate signed by
#                                             DIR/CA: SAN as openssl spells it
#                                             ("DNS:localhost,IP:127.0.0.1")
#   tls-certs.sh client DIR CA NAME           a client certificate
# Keys are written 0600.
set -euo pipefail
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# sign DIR CA NAME EXTFILE: DIR/NAME.pem for DIR/NAME-key.pem, signed by CA
sign() {
	openssl req -new -key "$1/$3-key.pem" -subj "/CN=$3" -out "$1/$3.csr" 2>/dev/null
	openssl x509 -req -days 1 -sha256 -in "$1/$3.csr" -CA "$1/$2.pem" -CAkey "$1/$2-key.pem" \
		-CAcreateserial -CAserial "$1/$2.srl" -extfile "$4" -out "$1/$3.pem" 2>/dev/null
	rm -f "$1/$3.csr" "$4"
}

case ${1:-} in
ca)
	key "$2/$3-key.pem"
	openssl req -new -x509 -days 1 -sha256 -key "$2/$3-key.pem" -subj "/CN=$3" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-out "$2/$3.pem" 2>/dev/null
	;;
server)
	key "$2/$4-key.pem"
	printf 'subjectAltName = %s\nextendedKeyUsage = serverAuth\nkeyUsage = critical,digitalSignature\n' \
		"$5" >"$2/$4.ext"
	sign "$2" "$3" "$4" "$2/$4.ext"
	;;
client)
	key "$2/$4-key.pem"
	printf 'extendedKeyUsage = clientAuth\nkeyUsage = critical,digitalSignature\n' >"$2/$4.ext"
	sign "$2" "$3" "$4" "$2/$4.ext"
	;;
*)
	echo "usage: tls-certs.sh ca DIR NAME | server DIR CA NAME SAN | client DIR CA NAME" >&2
	exit 2
	;;
esac
chmod 0644 "$2"/*.pem
chmod 0600 "$2"/*-key.pem
