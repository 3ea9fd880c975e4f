#!/bin/sh
# make-root.sh DIR: the root of the test images, jobcell-test/*: a
# busybox-static root with relative applet links (`busybox --install -s`
# would link to this host's path), a 1777 /tmp, two users.  bootstrap.sh
# imports it into the shared engines, tests/integration/tls.sh into its
# private one.
set -eu
mkdir -p "$1/bin" "$1/etc" "$1/tmp"
chmod 1777 "$1/tmp"
cp /bin/busybox "$1/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$1/bin/$applet"
done
printf 'root:x:0:0:root:/:/bin/sh\nnonroot:x:65532:65532:nonroot:/:/bin/sh\n' >"$1/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$1/etc/group"
