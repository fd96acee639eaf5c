#!/usr/bin/env bash
# Builds the image's file system beside the application layers that Jib adds (mvn -Pimage package): a JRE made
# with jlink from the build's own JDK (no base image to pull: the image is FROM scratch), the C libraries that JRE
# links against (found with ldd), a non-root user, /tmp, and the routes and rules the gateway reads.
#   deploy/image/rootfs.sh OUT_DIR   (JAVA_HOME: the JDK to jlink from: its jmods/, or, from JDK 24 on, a JDK built
#                                     to link from its own run-time image (JEP 493), as Temurin 25 is)
set -euo pipefail
out=${1:?usage: rootfs.sh OUT_DIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
jdk=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
# (jlink's help is read in English: it is translated into the machine's language)
if [ ! -d "$jdk/jmods" ] && ! "$jdk/bin/jlink" -J-Duser.language=en -J-Duser.country=US --help 2>/dev/null |
    grep -q 'Linking from run-time image enabled'; then
  echo "rootfs.sh: $jdk has no jmods/ and cannot link from its run-time image (install its jmods, e.g. openjdk-17-jmods)" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out/opt" "$out/etc" "$out/tmp" "$out/opt/attest"

# the JRE: the modules the gateway and its libraries use (java.se), elliptic-curve TLS, Unsafe (Netty), zip file
# systems, JFR and management for diagnostics; no debug symbols, headers or man pages
# (--compress=2 is JDK 17's name for zip compression; newer jlinks call it zip-6 and warn on the old name)
compress=2
"$jdk/bin/jlink" -J-Duser.language=en -J-Duser.country=US --help 2>/dev/null | grep -q 'zip-\[0-9\]' && compress=zip-6
"$jdk/bin/jlink" --add-modules java.se,jdk.crypto.ec,jdk.unsupported,jdk.zipfs,jdk.management,jdk.jfr,jdk.naming.dns \
  --strip-debug --no-man-pages --no-header-files --compress=$compress --output "$out/opt/java"
# Debian's JDK links its CA certificates from /etc: the image carries the build's copy as a file
if [ -L "$jdk/lib/security/cacerts" ] || [ ! -s "$out/opt/java/lib/security/cacerts" ]; then
  cp -L "$jdk/lib/security/cacerts" "$out/opt/java/lib/security/cacerts"
fi

# the shared libraries of the JRE's ELF files, and the dynamic loader, at their own paths (not those of the
# desktop libraries: a headless gateway never loads AWT, fonts, sound or image codecs, nor their X11 and C++ libs)
find "$out/opt/java" -type f \( -name '*.so' -o -path '*/bin/*' -o -name jspawnhelper \) \
  ! -name 'libawt*' ! -name 'libfontmanager.so' ! -name 'libsplashscreen.so' ! -name 'libjsound.so' \
  ! -name 'liblcms.so' ! -name 'libjavajpeg.so' ! -name 'libmlib_image.so' ! -name 'libjawt.so' -print0 |
  xargs -0 ldd 2>/dev/null | awk '/=> \//{print $3} /^\s*\/lib.*ld-linux/{print $1}' | sort -u |
  while read -r lib; do
    mkdir -p "$out$(dirname "$lib")"
    cp -L "$lib" "$out$lib"
  done
loader=$(readelf -l "$out/opt/java/bin/java" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
mkdir -p "$out$(dirname "$loader")"
cp -L "$loader" "$out$loader"

# the user the gateway runs as (uid and gid 10001), and nobody else but root
cat > "$out/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
attest:x:10001:10001:Attest gateway:/opt/attest:/sbin/nologin
PASSWD
cat > "$out/etc/group" <<'GROUP'
root:x:0:
attest:x:10001:
GROUP

# what the gateway reads relative to its working directory
for d in routes policy masking-rules approval-flow usage approval-templates; do
  cp -r "$repo/$d" "$out/opt/attest/$d"
done
find "$out/opt/attest" -name README.md -delete

# JVM options that depend on the JRE's release, read by the entrypoint as an argument file (@/opt/java/attest.args;
# lines starting with # are comments): from JDK 24 on, Netty's use of sun.misc.Unsafe's memory access is allowed
# quietly instead of printing a warning to stderr, as bin/attest does (JEP 498; JDKs before 23 refuse the option)
feature=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$out/opt/java/release")
{
  echo "# JVM options for this JRE (Java $feature), written by deploy/image/rootfs.sh"
  if [ "${feature:-0}" -ge 24 ]; then echo "--sun-misc-unsafe-memory-access=allow"; fi
} > "$out/opt/java/attest.args"
