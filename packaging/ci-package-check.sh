#!/usr/bin/env bash
# packaging/ci-package-check.sh — builds holdfast's .deb and checks it the way a security officer
# would: contents, lintian, the systemd unit's sandbox score, then install → upgrade → remove → purge
# in a fresh minimal Debian root, then the same root booted with systemd: socket activation, and
# `update apply` / `update rollback` under a client loop that must see no failed request — by
# hand-over, parked, and across a real schema change.
#
# Run as root from the repository, after the release build (it packages
# ${CARGO_TARGET_DIR:-target}/release/holdfast; without one, cargo deb builds it). For the live
# section it also builds the holdfast binary once more with the cargo feature update-drill (a schema
# one higher; only the holdfast crate rebuilds) and puts the release binary back. Cargo.toml must
# carry packaging/cargo-deb.toml's [package.metadata.deb]. Network: apt only, to the Debian mirror
# the machine's apt is configured with. Leaves the .deb in ${CARGO_TARGET_DIR:-target}/debian/.
# KEEP_WORK=1 keeps the scratch dir (chroot included) for inspection.
# dpkg-query and apt format strings such as '${Status}' are literal on purpose:
# shellcheck disable=SC2016
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 CARGO_TERM_COLOR=never
CARGO_DEB_VERSION=3.8.0      # pinned: builds with Rust >= 1.85 (we have 1.95); newer ones unreviewed
MAX_EXPOSURE=2.0             # `systemd-analyze security` overall exposure, 0 (best) to 10
WORK="$(mktemp -d /tmp/holdfast-pkgcheck.XXXXXX)"
CHROOT="$WORK/root"
START=$SECONDS
STEP_START=$SECONDS
STEP_NAME=""
SUMMARY=()
LIVE_CHECK="${HOLDFAST_LIVE_CHECK:-1}"   # 0 skips the booted-container check (section "live")
CT_TIMEOUT_PID=""
CT_PID=""
POLL_PID=""
NSPAWN_TMPFS=0

step() {
    end_step
    STEP_NAME="$1"
    STEP_START=$SECONDS
    printf '\n== %s\n' "$STEP_NAME"
}
end_step() {
    if [ -n "$STEP_NAME" ]; then
        SUMMARY+=("$(printf '%5ds  %s' "$((SECONDS - STEP_START))" "$STEP_NAME")")
    fi
    STEP_NAME=""
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
ok() {
    echo "ok   $*"
}
SHIPPED_ASIDE=""
# The release binary, set aside while the schema drill release is built over it, back in place.
put_back_shipped() {
    if [ -n "$SHIPPED_ASIDE" ]; then
        cp -p "$SHIPPED_ASIDE" "$TARGET_DIR/release/holdfast.shipped"
        mv -f "$TARGET_DIR/release/holdfast.shipped" "$TARGET_DIR/release/holdfast"
        SHIPPED_ASIDE=""
    fi
}
cleanup() {
    local rc=$?
    put_back_shipped || true
    if [ -n "$POLL_PID" ]; then kill "$POLL_PID" 2>/dev/null || true; fi
    stop_container
    if mountpoint -q "$CHROOT/proc" 2>/dev/null; then umount "$CHROOT/proc" || true; fi
    if [ "$NSPAWN_TMPFS" = 1 ]; then umount /run/systemd/nspawn || true; fi
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "scratch dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    if [ "$rc" -ne 0 ]; then echo "package check FAILED in step: ${STEP_NAME:-?}" >&2; fi
}
# Powers the container off (bounded) and ends its systemd-nspawn, which this script started.
stop_container() {
    if [ -n "$CT_PID" ]; then
        timeout 20 nsenter -t "$CT_PID" -m -u -i -n -p -- systemctl poweroff >/dev/null 2>&1 || true
        CT_PID=""
    fi
    if [ -n "$CT_TIMEOUT_PID" ]; then
        for _ in $(seq 1 30); do
            kill -0 "$CT_TIMEOUT_PID" 2>/dev/null || break
            sleep 1
        done
        if kill -0 "$CT_TIMEOUT_PID" 2>/dev/null; then kill "$CT_TIMEOUT_PID" || true; fi
        wait "$CT_TIMEOUT_PID" 2>/dev/null || true
        CT_TIMEOUT_PID=""
    fi
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || fail "run as root: it installs packages and builds a chroot"

# ---------------------------------------------------------------------------------------------------
step "tools"
# lintian, mmdebstrap: the checks; systemd: systemd-analyze; dpkg-dev: dpkg-shlibdeps (cargo-deb's
# $auto depends) and dpkg-parsechangelog; man-db: lintian's man page check; python3: tomllib for the
# metadata comparison in build-deb.sh; debian-archive-keyring: mmdebstrap verifies the mirror with it.
timeout 600 apt-get update -qq
# systemd-container: systemd-nspawn boots the same root with systemd for the live check; curl: one
# HTTPS request to the hub inside that container; wrk: the 16 + 16 clients during apply and rollback.
timeout 900 apt-get install -y -qq --no-install-recommends \
    lintian mmdebstrap systemd dpkg-dev man-db shellcheck python3 debian-archive-keyring \
    systemd-container curl wrk >/dev/null
if ! cargo deb --version 2>/dev/null | grep -qx "cargo-deb $CARGO_DEB_VERSION"; then
    # Own target dir: the project's build cache stays untouched.
    CARGO_TARGET_DIR="$WORK/cargo-deb-build" timeout 1800 \
        cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --quiet
fi
cargo deb --version

# ---------------------------------------------------------------------------------------------------
step "shellcheck"
shellcheck -x packaging/ci-package-check.sh packaging/build-deb.sh packaging/old-package-drill.sh
shellcheck --shell=sh debian/postinst debian/prerm debian/postrm
ok "packaging scripts and maintainer scripts are shellcheck-clean"

# ---------------------------------------------------------------------------------------------------
step "build"
pkgid="$(cargo pkgid)"
VERSION="${pkgid##*[#@]}"
ARCH="$(dpkg --print-architecture)"
# The next patch version: dpkg treats it as an upgrade, and the signed update bundle can name it
# (a bundle must carry the package of exactly the version it names).
UPGRADE_VERSION="${VERSION%.*}.$(( ${VERSION##*.} + 1 ))"
mkdir -p "$WORK/upgrade"
DEB="$(timeout 3600 packaging/build-deb.sh | tail -n 1)"
[ "$(basename "$DEB")" = "holdfast_${VERSION}_${ARCH}.deb" ] ||
    fail "package file is $(basename "$DEB"), expected holdfast_${VERSION}_${ARCH}.deb"
# cargo-deb deletes other versions of the package from target/debian/ whatever --output says, so the
# release .deb is set aside while the upgrade test package is built, then put back.
cp -p "$DEB" "$WORK/"
DEB2="$(timeout 600 packaging/build-deb.sh --deb-version "$UPGRADE_VERSION" --output "$WORK/upgrade" | tail -n 1)"
cp -p "$WORK/$(basename "$DEB")" "$DEB"
ok "$DEB ($(stat -c %s "$DEB") bytes), sha256 $(sha256sum "$DEB" | cut -d' ' -f1)"
ok "upgrade test package $(basename "$DEB2")"

# ---------------------------------------------------------------------------------------------------
# The schema drill release, for the live section's real schema change: this tree built with the
# cargo feature update-drill (one more migration, the schema one higher), packaged as the version
# after UPGRADE_VERSION. cargo writes that build over the release binary the packages above were
# made from, so the shipped binary is set aside first and put back after (by rename: the file cargo
# wrote is a hard link into its deps/, which a copy onto it would write through), and compared.
# build-deb.sh packages $CARGO_TARGET_DIR/release/holdfast: pointed at a directory of its own, it
# takes the drill binary, and its cargo-deb leaves the real target dir's debian/ alone.
if [ "$LIVE_CHECK" = 1 ]; then
step "build: the schema drill release (feature update-drill)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
DRILL_VERSION="${VERSION%.*}.$(( ${VERSION##*.} + 2 ))"
# The schema version a new instance of a build gets, from its own doctor (empty if none).
schema_of() { # BINARY
    local dir
    dir="$(mktemp -d "$WORK/schema.XXXXXX")"
    install -d -m 0700 "$dir/data"
    "$1" --data-dir "$dir/data" init >/dev/null 2>&1 || true
    "$1" --data-dir "$dir/data" doctor 2>/dev/null |
        sed -n 's/^OK   instance default: .*(schema \([0-9]*\))$/\1/p' || true
}
SHIPPED_SCHEMA="$(schema_of "$TARGET_DIR/release/holdfast")"
[ -n "$SHIPPED_SCHEMA" ] || fail "the release binary's doctor printed no schema version"
shipped_sha="$(sha256sum < "$TARGET_DIR/release/holdfast")"
deb_sha="$(sha256sum < "$DEB")"
cp -p "$TARGET_DIR/release/holdfast" "$WORK/holdfast.shipped"
SHIPPED_ASIDE="$WORK/holdfast.shipped"      # cleanup puts it back if the check ends in between
timeout 3600 cargo build --release --features update-drill --bin holdfast
mkdir -p "$WORK/drill-target/release" "$WORK/drill"
cp -p "$TARGET_DIR/release/holdfast" "$WORK/drill-target/release/holdfast"
put_back_shipped
[ "$(sha256sum < "$TARGET_DIR/release/holdfast")" = "$shipped_sha" ] || fail "the release binary was not put back"
DRILL_SCHEMA="$(schema_of "$WORK/drill-target/release/holdfast")"
[ "$DRILL_SCHEMA" = "$((SHIPPED_SCHEMA + 1))" ] ||
    fail "the update-drill build has schema '$DRILL_SCHEMA', expected $((SHIPPED_SCHEMA + 1))"
DRILL_DEB="$(CARGO_TARGET_DIR="$WORK/drill-target" timeout 600 packaging/build-deb.sh \
    --deb-version "$DRILL_VERSION" --output "$WORK/drill" | tail -n 1)"
[ "$(sha256sum < "$DEB")" = "$deb_sha" ] || fail "building the drill package changed $DEB"
[ "$(dpkg-deb --fsys-tarfile "$DRILL_DEB" | tar -xOf - ./usr/bin/holdfast | sha256sum)" = \
    "$(sha256sum < "$WORK/drill-target/release/holdfast")" ] || fail "the drill package does not carry the drill binary"
ok "schema drill package $(basename "$DRILL_DEB"): the update-drill build (schema $DRILL_SCHEMA; the release's is $SHIPPED_SCHEMA); release binary and $(basename "$DEB") unchanged"
fi

# ---------------------------------------------------------------------------------------------------
step "contents"
dpkg-deb --contents "$DEB" > "$WORK/contents"
cat "$WORK/contents"
expect_file() { # MODE PATH
    awk -v m="$1" -v p="./$2" '$1 == m && $2 == "root/root" && $6 == p { found = 1 } END { exit !found }' \
        "$WORK/contents" || fail "$2 missing, or not $1 root/root"
    ok "$1 root/root /$2"
}
expect_file -rwxr-xr-x usr/bin/holdfast
expect_file -rw-r--r-- usr/lib/systemd/system/holdfast.service
expect_file -rw-r--r-- usr/lib/systemd/system/holdfast.socket
expect_file -rw-r--r-- etc/holdfast/holdfast.toml
expect_file -rw-r--r-- usr/lib/sysusers.d/holdfast.conf
expect_file -rw-r--r-- usr/share/man/man8/holdfast.8.gz
expect_file -rw-r--r-- usr/share/doc/holdfast/copyright
expect_file -rw-r--r-- usr/share/doc/holdfast/changelog.gz
expect_file -rw-r--r-- usr/share/doc/holdfast/README.md
expect_file -rw-r--r-- usr/share/doc/holdfast/docs/install.md
expect_file -rw-r--r-- usr/share/holdfast/prometheus/holdfast-rules.yml
expect_file -rw-r--r-- usr/share/holdfast/fail2ban/holdfast.conf
expect_file -rw-r--r-- usr/share/holdfast/fail2ban/holdfast.local
awk '$2 != "root/root" || $1 ~ /[sS]/ { bad = 1; print "unexpected owner or set-id bit: " $0 } END { exit bad }' \
    "$WORK/contents" || fail "every file must be root/root without set-id bits"
ok "every file root/root, no set-id bit"

dpkg-deb --raw-extract "$DEB" "$WORK/pkg"
[ "$(dpkg-deb --field "$DEB" Package)" = holdfast ] || fail "Package field"
[ "$(dpkg-deb --field "$DEB" Version)" = "$VERSION" ] || fail "Version field"
[ "$(cat "$WORK/pkg/DEBIAN/conffiles")" = /etc/holdfast/holdfast.toml ] || fail "conffiles"
(cd "$WORK/pkg" && md5sum --check --quiet DEBIAN/md5sums) || fail "md5sums do not match the files"
cmp -s "$WORK/pkg/usr/lib/systemd/system/holdfast.service" systemd/holdfast.service || fail "unit differs from systemd/"
cmp -s "$WORK/pkg/usr/lib/systemd/system/holdfast.socket" systemd/holdfast.socket || fail "socket unit differs from systemd/"
# The socket unit and the conffile must name the same HTTPS address (holdfast.socket says why).
sock_listen="$(sed -n 's/^ListenStream=//p' systemd/holdfast.socket)"
conf_listen="$(sed -n 's/^listen = "\(.*\)"$/\1/p' debian/holdfast.toml | head -n 1)"
{ [ -n "$sock_listen" ] && [ "$sock_listen" = "$conf_listen" ]; } ||
    fail "holdfast.socket listens on '$sock_listen' but holdfast.toml's listen is '$conf_listen'"
ok "holdfast.socket and holdfast.toml both listen on $sock_listen"
cmp -s "$WORK/pkg/etc/holdfast/holdfast.toml" debian/holdfast.toml || fail "conffile differs from debian/"
if grep -l '#DEBHELPER#' "$WORK/pkg/DEBIAN/"*; then fail "unreplaced #DEBHELPER# token"; fi
echo "Depends: $(dpkg-deb --field "$DEB" Depends)"
ok "control: conffiles, md5sums, maintainer scripts"

# ---------------------------------------------------------------------------------------------------
step "lintian"
# No overrides: a tag is fixed, not silenced (an override would need a written reason in
# debian/holdfast.lintian-overrides, installed under usr/share/lintian/overrides/).
# --pedantic only shows more; only errors and warnings fail.
lintian_rc=0
timeout 600 lintian --fail-on error,warning --display-info --pedantic "$DEB" > "$WORK/lintian.txt" 2>&1 ||
    lintian_rc=$?
grep -v '^running with root privileges is not recommended!$' "$WORK/lintian.txt" || true
[ "$lintian_rc" -eq 0 ] || fail "lintian reported errors or warnings (exit $lintian_rc)"
ok "lintian: no error, no warning"

# ---------------------------------------------------------------------------------------------------
step "unit sandbox score"
# --offline: rate the file as written, without a running systemd.
systemd-analyze security --offline=yes --no-pager "$WORK/pkg/usr/lib/systemd/system/holdfast.service" \
    > "$WORK/security.txt" 2>&1 || true
grep -F '✗' "$WORK/security.txt" || true
score="$(sed -n 's/.*Overall exposure level for holdfast\.service: \([0-9.]*\).*/\1/p' "$WORK/security.txt")"
[ -n "$score" ] || { cat "$WORK/security.txt"; fail "no exposure level in systemd-analyze output"; }
awk -v s="$score" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(s <= max) }' ||
    fail "exposure level $score is above $MAX_EXPOSURE"
ok "exposure level $score (limit $MAX_EXPOSURE)"

# ---------------------------------------------------------------------------------------------------
step "minimal Debian root (mmdebstrap)"
# The suite and mirror are the ones this machine's apt already uses (no other host is contacted).
# shellcheck source=/dev/null
SUITE="$(. /etc/os-release && echo "$VERSION_CODENAME")"
mapfile -t MIRRORS < <(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Created-By: Packages' |
    awk -v s="$SUITE" '$1 == s || $1 == s "-updates" || $1 == s "-security" { print "deb " $2 " " $1 " main" }' |
    sort -u)
[ "${#MIRRORS[@]}" -gt 0 ] || fail "apt has no $SUITE source configured"
printf 'source: %s\n' "${MIRRORS[@]}"
# variant apt: Essential packages plus apt, nothing else; the holdfast package must bring the rest
# through its Depends (resolved by apt below). man-db: systemd-analyze verify opens man:holdfast(8).
# The package lists are kept so that apt can resolve those Depends later without a second update.
timeout 900 mmdebstrap --quiet --variant=apt --include=man-db --skip=cleanup/apt/lists \
    --aptopt='Acquire::Retries "3"' --aptopt='Acquire::http::Timeout "30"' \
    "$SUITE" "$CHROOT" "${MIRRORS[@]}"
mount -t proc proc "$CHROOT/proc"
# No service starts inside the chroot: no systemd runs there (no /run/systemd/system), so the
# maintainer scripts skip every deb-systemd-invoke/systemctl call (their own guards), and
# deb-systemd-invoke would in any case obey this policy-rc.d ("101: action forbidden").
# deb-systemd-helper only writes the enablement symlinks, which works offline.
printf '#!/bin/sh\nexit 101\n' > "$CHROOT/usr/sbin/policy-rc.d"
chmod 0755 "$CHROOT/usr/sbin/policy-rc.d"
cp "$DEB" "$DEB2" "$CHROOT/tmp/"
in_root() { # bounded, clean environment
    timeout --kill-after=30 300 chroot "$CHROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
as_holdfast() {
    in_root runuser -u holdfast -- /usr/bin/holdfast "$@"
}
mode_of() {
    in_root stat -c '%a %U %G' "$1"
}
WANTS=/etc/systemd/system/multi-user.target.wants/holdfast.service
SOCKET_WANTS=/etc/systemd/system/sockets.target.wants/holdfast.socket

# ---------------------------------------------------------------------------------------------------
step "install $VERSION"
in_root apt-get install -y --no-install-recommends -o Acquire::Retries=3 -o Dpkg::Use-Pty=0 "/tmp/$(basename "$DEB")"
[ "$(in_root dpkg-query -W -f='${Status} ${Version}' holdfast)" = "install ok installed $VERSION" ] ||
    fail "holdfast $VERSION is not installed"
IFS=: read -r _ _ uid _ _ home shell < <(in_root getent passwd holdfast) || fail "no user holdfast"
if [ "$home" != /var/lib/holdfast ] || [ "$shell" != /usr/sbin/nologin ] || [ "$uid" -ge 1000 ]; then
    fail "user holdfast: uid $uid home $home shell $shell"
fi
in_root getent group holdfast >/dev/null || fail "no group holdfast"
ok "system user holdfast (uid $uid, home $home, shell $shell) and group"
[ "$(mode_of /var/lib/holdfast)" = "700 holdfast holdfast" ] || fail "/var/lib/holdfast: $(mode_of /var/lib/holdfast)"
ok "/var/lib/holdfast 700 holdfast holdfast"
[ "$(mode_of /etc/holdfast/holdfast.toml)" = "644 root root" ] || fail "conffile mode"
ok "/etc/holdfast/holdfast.toml 644 root root"
[ -L "$CHROOT$WANTS" ] || fail "holdfast.service is not enabled"
[ -L "$CHROOT$SOCKET_WANTS" ] || fail "holdfast.socket is not enabled"
ok "holdfast.service and holdfast.socket enabled (not started: no systemd in the chroot)"
[ "$(mode_of /var/lib/holdfast/keys/master.key)" = "600 holdfast holdfast" ] || fail "master key not created 0600 by holdfast init"
[ -f "$CHROOT/var/lib/holdfast/tls/cert.pem" ] || fail "no self-signed certificate"
[ -d "$CHROOT/var/lib/holdfast/instances/default" ] || fail "no default instance"
ok "holdfast init: master key 0600, self-signed certificate, default instance"
as_holdfast doctor || fail "holdfast doctor (it also parses the shipped conffile)"
in_root systemd-analyze verify /usr/lib/systemd/system/holdfast.service /usr/lib/systemd/system/holdfast.socket \
    > "$WORK/verify.txt" 2>&1 ||
    { cat "$WORK/verify.txt"; fail "systemd-analyze verify"; }
[ ! -s "$WORK/verify.txt" ] || { cat "$WORK/verify.txt"; fail "systemd-analyze verify printed warnings"; }
ok "systemd-analyze verify: clean (binary, /bin/kill and man page present in the root)"
in_root dpkg --verify holdfast || fail "dpkg --verify"
ok "dpkg --verify: installed files match md5sums"

# ---------------------------------------------------------------------------------------------------
step "local data and a modified conffile"
as_holdfast instance create ci --hostname ci.example.internal --title "CI" >/dev/null
key_hash="$(in_root sha256sum /var/lib/holdfast/keys/master.key)"
sed -i 's/^#level = "info"$/level = "debug"/' "$CHROOT/etc/holdfast/holdfast.toml"
grep -qx 'level = "debug"' "$CHROOT/etc/holdfast/holdfast.toml" || fail "could not edit the conffile"
ok "instance ci created, [log] level set to debug in the conffile"

# ---------------------------------------------------------------------------------------------------
step "upgrade to $UPGRADE_VERSION"
in_root apt-get install -y --no-install-recommends -o Acquire::Retries=3 -o Dpkg::Use-Pty=0 "/tmp/$(basename "$DEB2")"
[ "$(in_root dpkg-query -W -f='${Version}' holdfast)" = "$UPGRADE_VERSION" ] || fail "not upgraded"
grep -qx 'level = "debug"' "$CHROOT/etc/holdfast/holdfast.toml" || fail "the admin's conffile change was lost"
if find "$CHROOT/etc/holdfast" -name '*.dpkg-*' | grep .; then fail "dpkg left conffile copies"; fi
ok "modified conffile kept"
[ "$(in_root sha256sum /var/lib/holdfast/keys/master.key)" = "$key_hash" ] || fail "master key changed"
as_holdfast instance list | grep -w ci >/dev/null || fail "instance ci lost"   # not -q: holdfast must not see EPIPE
[ "$(in_root id -u holdfast)" = "$uid" ] || fail "uid of holdfast changed"
[ "$(mode_of /var/lib/holdfast)" = "700 holdfast holdfast" ] || fail "data dir mode after upgrade"
as_holdfast doctor >/dev/null || fail "holdfast doctor after upgrade"
ok "master key, instances, user and data dir survived; doctor ok"

# ---------------------------------------------------------------------------------------------------
step "remove (keeps configuration and data)"
in_root dpkg --remove holdfast
[ "$(in_root dpkg-query -W -f='${Status}' holdfast)" = "deinstall ok config-files" ] || fail "status after remove"
[ ! -e "$CHROOT/usr/bin/holdfast" ] || fail "binary left after remove"
[ -f "$CHROOT/var/lib/holdfast/keys/master.key" ] || fail "remove deleted the master key"
[ -f "$CHROOT/etc/holdfast/holdfast.toml" ] || fail "remove deleted the conffile"
in_root getent passwd holdfast >/dev/null || fail "remove deleted the user"
ok "binary gone; conffile, data and user kept"

# ---------------------------------------------------------------------------------------------------
step "purge"
in_root dpkg --purge holdfast
state="$(in_root dpkg-query -W -f='${db:Status-Status}' holdfast 2>/dev/null || true)"
[ -z "$state" ] || [ "$state" = not-installed ] || fail "dpkg still has holdfast as $state"
[ ! -e "$CHROOT/etc/holdfast" ] || fail "/etc/holdfast left after purge"
[ ! -e "$CHROOT/var/lib/holdfast" ] || fail "/var/lib/holdfast left after purge"
if in_root getent passwd holdfast; then fail "user holdfast left after purge"; fi
if in_root getent group holdfast; then fail "group holdfast left after purge"; fi
if [ -e "$CHROOT$WANTS" ] || [ -L "$CHROOT$WANTS" ]; then fail "enablement symlink left after purge"; fi
if [ -e "$CHROOT$SOCKET_WANTS" ] || [ -L "$CHROOT$SOCKET_WANTS" ]; then fail "socket enablement symlink left after purge"; fi
[ ! -e "$CHROOT/usr/lib/sysusers.d/holdfast.conf" ] || fail "sysusers.d file left after purge"
ok "/etc/holdfast, /var/lib/holdfast, user, group and unit symlink gone"

# ---------------------------------------------------------------------------------------------------
# Live: the same root booted with systemd as PID 1 (systemd-nspawn, loopback-only network), so the
# unit runs for real: first-install start, Type=notify readiness, the sandbox, port 443 as the
# holdfast user, reload, watchdog, try-restart on upgrade, the systemd credential, purge.
if [ "$LIVE_CHECK" = 1 ]; then
step "live: install into a booted systemd"
umount "$CHROOT/proc"
rm -f "$CHROOT/usr/sbin/policy-rc.d"        # this time the service is meant to start
mkdir -p "$CHROOT/root/debs"                # not /tmp: the booted system mounts a tmpfs there
cp "$DEB" "$DEB2" "$CHROOT/root/debs/"
# systemd-nspawn refuses to clean up its state under a /run that is not a tmpfs.
if [ "$(stat -f -c %T /run)" != tmpfs ]; then
    mkdir -p /run/systemd/nspawn
    mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn
    NSPAWN_TMPFS=1
fi
# --keep-unit --register=no: no D-Bus or machined needed on the host; --private-network: the
# container has its own loopback only.
timeout 600 systemd-nspawn --quiet --directory="$CHROOT" --boot --private-network --register=no \
    --keep-unit --console=read-only > "$WORK/container.log" 2>&1 &
CT_TIMEOUT_PID=$!
in_ct() { # bounded, inside the container's namespaces
    timeout --kill-after=10 120 nsenter -t "$CT_PID" -m -u -i -n -p -- \
        /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
for _ in $(seq 1 60); do
    nspawn_pid="$(pgrep -P "$CT_TIMEOUT_PID" -x systemd-nspawn || true)"
    if [ -n "$nspawn_pid" ]; then CT_PID="$(pgrep -P "$nspawn_pid" -x systemd || true)"; fi
    if [ -n "$CT_PID" ] && in_ct systemctl is-system-running 2>/dev/null | grep -qxE 'running|degraded'; then
        break
    fi
    sleep 1
done
in_ct systemctl is-system-running 2>/dev/null | grep -qxE 'running|degraded' ||
    { tail -n 30 "$WORK/container.log"; fail "the container did not boot (HOLDFAST_LIVE_CHECK=0 skips this)"; }
ok "container booted with systemd $(in_ct systemctl --version | head -n 1 | cut -d' ' -f2)"
unit_prop() { in_ct systemctl show holdfast.service --value -p "$1"; }

in_ct dpkg -i "/root/debs/$(basename "$DEB")"
[ "$(unit_prop ActiveState)" = active ] || { in_ct journalctl -u holdfast --no-pager; fail "not started on install"; }
[ "$(unit_prop StatusText)" = "serving on 0.0.0.0:443" ] || fail "status: $(unit_prop StatusText)"
pid1="$(unit_prop MainPID)"
[ "$(in_ct ps -o user= -p "$pid1")" = holdfast ] || fail "the service does not run as holdfast"
ok "started on first install (Type=notify: ready), serving on 0.0.0.0:443 as user holdfast"
sock_prop() { in_ct systemctl show holdfast.socket --value -p "$1"; }
[ "$(sock_prop ActiveState)" = active ] || fail "holdfast.socket is not active"
[ "$(unit_prop TriggeredBy)" = holdfast.socket ] || fail "holdfast.service is triggered by '$(unit_prop TriggeredBy)'"
in_ct journalctl -u holdfast --no-pager -o cat | grep -q 'HTTPS: listening socket handed over' ||
    fail "the service bound its own HTTPS socket instead of taking holdfast.socket's"
ok "holdfast.socket listens on $(sock_prop Listen); the service took its HTTPS socket from it"
# With the service stopped the socket stays open: a connection waits in its backlog and starts the
# service (this is also why `update apply` parks the service instead of stopping it).
in_ct systemctl stop holdfast.service
[ "$(sock_prop ActiveState)" = active ] || fail "holdfast.socket stopped with the service"
code="$(timeout 90 nsenter -t "$CT_PID" -n -- curl -sk -o /dev/null -w '%{http_code}' --max-time 60 https://127.0.0.1/healthz || true)"
[ "$code" = 200 ] || fail "a connection to the stopped service's socket got $code"
[ "$(unit_prop ActiveState)" = active ] || fail "the connection did not start the service"
pid1="$(unit_prop MainPID)"
ok "service stopped: a connection waited in holdfast.socket's backlog, started the service and got 200"
code="$(timeout 20 nsenter -t "$CT_PID" -n -- curl -sk -o /dev/null -w '%{http_code}' --max-time 10 https://127.0.0.1/)"
case "$code" in 2??|3??) ok "HTTPS answers ($code)" ;; *) fail "HTTPS request answered $code" ;; esac
in_ct systemctl reload holdfast.service || fail "reload (SIGHUP through /bin/kill)"
ok "reload"
live_score="$(in_ct systemd-analyze security holdfast.service --no-pager 2>/dev/null |
    sed -n 's/.*Overall exposure level for holdfast\.service: \([0-9.]*\).*/\1/p')"
awk -v s="$live_score" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(s != "" && s <= max) }' ||
    fail "exposure level of the loaded unit is '$live_score', above $MAX_EXPOSURE"
ok "exposure level of the loaded unit: $live_score (limit $MAX_EXPOSURE)"
if in_ct journalctl -u holdfast --no-pager -o cat | grep -iE 'operation not permitted|permission denied'; then
    fail "the sandbox denied holdfast something (journal above)"
fi
ok "no permission errors in the journal"

step "live: watchdog, upgrade, credential, purge"
# WatchdogSec=30s: still the same process well after one interval means the pings arrive.
started="$(in_ct date -d "$(unit_prop ExecMainStartTimestamp)" +%s)"
while [ "$(( $(in_ct date +%s) - started ))" -lt 40 ]; do sleep 2; done
if [ "$(unit_prop MainPID)" != "$pid1" ] || [ "$(unit_prop NRestarts)" != 0 ]; then fail "restarted: watchdog?"; fi
ok "watchdog: same process after 40 s, no restart"

step "live: signed offline update, apply and roll back (docs/updating.md)"
# A client inside the container polls /healthz over loopback while apply and rollback run: one new
# TLS connection per request (curl), bounded in count and time. One line per request:
# <end, ns> <HTTP status, 000 when no answer> <seconds taken>.
poll_start() { # OUT
    rm -f "$WORK/poll.stop"
    timeout 600 nsenter -t "$CT_PID" -n -- bash -c '
        for _ in $(seq 1 20000); do
            [ -e "$1" ] && break
            r="$(curl -sk -o /dev/null -w "%{http_code} %{time_total}" --max-time 30 https://127.0.0.1/healthz || true)"
            echo "$(date +%s%N) ${r:-000 0}"
        done' poll "$WORK/poll.stop" > "$1" 2>/dev/null &
    POLL_PID=$!
    sleep 1
}
# Stops the client; prints the figures; fails on any failed request (failures are not timings).
poll_finish() { # OUT LABEL
    sleep 1
    touch "$WORK/poll.stop"
    wait "$POLL_PID" || true
    POLL_PID=""
    awk -v label="$2" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" '
        { n++
          if ($2 != 200) { failed++; next }
          if (last && $1 - last > gap) gap = $1 - last
          last = $1
          if ($3 > slow) slow = $3 }
        END {
          printf "%s: %d requests, %d failed; longest gap between answers %.0f ms, slowest request %.0f ms (load %s)\n",
              label, n, failed, gap / 1e6, slow * 1000, load
          exit (failed > 0 || n < 20) }' "$1"
}
# A vendor key made here and trusted through /etc/holdfast/trusted-keys (root-owned, as required);
# the bundle carries the upgrade test package, the next patch version (hence
# --allow-version-mismatch: its SBOM, generated from this tree, names the tree's version).
RELEASE_TOOL="${CARGO_TARGET_DIR:-target}/release/holdfast-release"
[ -x "$RELEASE_TOOL" ] || cargo build --release --bin holdfast-release
BUNDLE_VERSION="$UPGRADE_VERSION"
# A bundle labelled with another version than its package is refused by the signing tool.
if "$RELEASE_TOOL" bundle --key /dev/null --version 9.9.9 --allow-version-mismatch --deb "$DEB2" \
    --out "$WORK/liar.hfu" 2> "$WORK/liar.txt"; then fail "a 9.9.9 bundle around $UPGRADE_VERSION was signed"; fi
grep -q "is holdfast $UPGRADE_VERSION, the bundle would say 9.9.9" "$WORK/liar.txt" ||
    { cat "$WORK/liar.txt"; fail "the version mismatch was refused for another reason"; }
ok "the signing tool refuses a bundle whose package is another version"
mkdir -p "$WORK/vendor"
"$RELEASE_TOOL" keygen --out "$WORK/vendor" >/dev/null
"$RELEASE_TOOL" bundle --key "$WORK/vendor/release.key" --version "$BUNDLE_VERSION" \
    --min-from "$VERSION" --allow-version-mismatch --deb "$DEB2" --out "$CHROOT/root/debs/holdfast-$BUNDLE_VERSION.hfu" >/dev/null
install -d -m 0755 -o root -g root "$CHROOT/etc/holdfast/trusted-keys"
install -m 0644 -o root -g root "$WORK/vendor/release.pub" "$CHROOT/etc/holdfast/trusted-keys/ci-vendor.pub"
in_ct holdfast update verify "/root/debs/holdfast-$BUNDLE_VERSION.hfu" >/dev/null || fail "update verify"
poll_start "$WORK/poll-apply.txt"
in_ct holdfast update apply "/root/debs/holdfast-$BUNDLE_VERSION.hfu" \
    --previous-deb "/root/debs/$(basename "$DEB")" > "$WORK/apply.txt" 2>&1 ||
    { cat "$WORK/apply.txt"; in_ct journalctl -u holdfast --no-pager | tail -n 30; fail "update apply"; }
poll_finish "$WORK/poll-apply.txt" "update apply under a polling client" ||
    { grep -v ' 200 ' "$WORK/poll-apply.txt" | head -n 5; fail "requests failed during update apply"; }
grep -E 'updated .* ms' "$WORK/apply.txt" || fail "update apply printed no result"
grep -q 'none was refused' "$WORK/apply.txt" || fail "update apply did not keep the socket open"
[ "$(in_root dpkg-query -W -f='${Version}' holdfast)" = "$UPGRADE_VERSION" ] || fail "apply did not install the package"
pid_upd="$(unit_prop MainPID)"
if [ "$(unit_prop ActiveState)" != active ] || [ "$pid_upd" = "$pid1" ]; then fail "not restarted by apply"; fi
in_ct holdfast update status | grep "installed version: $BUNDLE_VERSION" >/dev/null || fail "update status after apply"
[ "$(mode_of /var/lib/holdfast/update/state.json)" = "600 holdfast holdfast" ] ||
    { in_root ls -laR /var/lib/holdfast/update | head -n 40; fail "update files not given back to holdfast"; }
[ -n "$(in_root sh -c 'ls /var/lib/holdfast/backups/local/holdfast-default-*.hfb')" ] || fail "no pre-update backup"
ok "apply: verified, backed up, dpkg-installed $UPGRADE_VERSION, restarted, ready; files stay holdfast's"
poll_start "$WORK/poll-rollback.txt"
in_ct holdfast update rollback > "$WORK/rollback.txt" 2>&1 || { cat "$WORK/rollback.txt"; fail "update rollback"; }
poll_finish "$WORK/poll-rollback.txt" "update rollback under a polling client" ||
    { grep -v ' 200 ' "$WORK/poll-rollback.txt" | head -n 5; fail "requests failed during update rollback"; }
grep -E 'rolled back' "$WORK/rollback.txt" || fail "rollback printed no result"
grep -q 'none was refused' "$WORK/rollback.txt" || fail "update rollback did not keep the socket open"
# No schema change: both were hand-overs inside the service — the running service started the next
# version as its child and made it the main process (MAINPID=); systemd never restarted anything.
journal() { in_ct journalctl -u holdfast --no-pager -o cat; }
spawned="$(journal | grep -c 'started the next version beside this server' || true)"
took="$(journal | grep -c 'took over from the previous server' || true)"
if [ "$spawned" -lt 2 ] || [ "$took" -lt 2 ]; then
    journal | tail -n 40; fail "apply and rollback were not hand-overs inside the service ($spawned started, $took took over)"
fi
[ "$(unit_prop NRestarts)" = 0 ] || fail "systemd restarted the service during the hand-overs"
[ "$(in_ct ps -o user= -p "$(unit_prop MainPID)")" = holdfast ] || fail "the main process after the hand-overs"
ok "apply and rollback handed over inside the service (MAINPID=); 0 failed requests"
# The process that took over pings the watchdog itself (WatchdogSec=30s): still the main process
# well after one interval, and systemd restarted nothing.
pid_ho="$(unit_prop MainPID)"
sleep 40
if [ "$(unit_prop MainPID)" != "$pid_ho" ] || [ "$(unit_prop NRestarts)" != 0 ] || [ "$(unit_prop ActiveState)" != active ]; then
    journal | tail -n 20; fail "the server that took over was restarted (watchdog?)"
fi
ok "watchdog after the hand-over: same main process after 40 s, no restart"
[ "$(in_root dpkg-query -W -f='${Version}' holdfast)" = "$VERSION" ] || fail "rollback did not reinstall $VERSION"
[ "$(unit_prop ActiveState)" = active ] || fail "not running after rollback"
in_ct holdfast update status | grep "installed version: $VERSION" >/dev/null || fail "update status after rollback"
ok "rollback: $VERSION reinstalled with dpkg, restarted, ready"
# The package rolled back to is kept: the next apply does not ask for --previous-deb again. This
# pair stops first (--stop-first, what a schema change does): the service is parked, not stopped,
# while the update snapshots and runs dpkg, so holdfast.socket cannot start it in the middle;
# `systemctl restart` then starts the installed version on the socket systemd kept open.
poll_start "$WORK/poll-apply2.txt"
in_ct holdfast update apply "/root/debs/holdfast-$BUNDLE_VERSION.hfu" --no-backup --stop-first > "$WORK/apply2.txt" 2>&1 ||
    { cat "$WORK/apply2.txt"; fail "a second apply after a rollback (without --previous-deb)"; }
poll_finish "$WORK/poll-apply2.txt" "update apply --stop-first (parked) under a polling client" ||
    { grep -v ' 200 ' "$WORK/poll-apply2.txt" | head -n 5; fail "requests failed during update apply --stop-first"; }
grep -q 'none was refused' "$WORK/apply2.txt" || { cat "$WORK/apply2.txt"; fail "apply --stop-first did not keep the socket open"; }
[ "$(in_root dpkg-query -W -f='${Version}' holdfast)" = "$UPGRADE_VERSION" ] || fail "second apply did not install the package"
poll_start "$WORK/poll-rollback2.txt"
in_ct holdfast update rollback --stop-first > "$WORK/rollback2.txt" 2>&1 || { cat "$WORK/rollback2.txt"; fail "second rollback"; }
poll_finish "$WORK/poll-rollback2.txt" "update rollback --stop-first (parked) under a polling client" ||
    { grep -v ' 200 ' "$WORK/poll-rollback2.txt" | head -n 5; fail "requests failed during update rollback --stop-first"; }
grep -q 'none was refused' "$WORK/rollback2.txt" || { cat "$WORK/rollback2.txt"; fail "rollback --stop-first did not keep the socket open"; }
[ "$(in_root dpkg-query -W -f='${Version}' holdfast)" = "$VERSION" ] || fail "second rollback did not reinstall $VERSION"
parks="$(journal | grep -c 'parked for an update: the data dir is free' || true)"
[ "$parks" -ge 2 ] || { journal | tail -n 40; fail "the service was parked $parks times for apply and rollback --stop-first, expected 2"; }
ok "after a rollback the next apply needs no --previous-deb; --stop-first parked the service (never stopped: no activation mid-update); 0 failed requests"

# Under load (issue 17): 16 keep-alive clients and 16 clients that open a new TLS connection for
# every request (`Connection: close`) run wrk (Debian's, from the host, in the container's network
# namespace) against the service while apply and rollback run, by hand-over and by --stop-first.
# Any socket error or non-2xx answer fails the check. wrk times a request from its first byte, so
# a wait to connect (the TLS handshake waiting for a server to accept) is not in its latency: the
# polling client (curl, a new connection per request) runs beside it and gives the longest wait
# including that. wrk stops (SIGINT: it prints its figures) once the command has finished.
load_start() {
    rm -f "$WORK"/wrk-*.txt
    poll_start "$WORK/poll-load.txt"
    local mode
    for mode in keepalive newconn; do
        local hdr=()
        [ "$mode" = newconn ] && hdr=(-H "Connection: close")
        timeout --signal=INT 300 nsenter -t "$CT_PID" -n -- \
            wrk -t1 -c16 -d280s --timeout 60s "${hdr[@]}" https://127.0.0.1/healthz > "$WORK/wrk-$mode.txt" 2>&1 &
        eval "WRK_$mode=\$!"
    done
    sleep 2
}
load_finish() { # LABEL
    sleep 2
    # shellcheck disable=SC2154 # set by eval in load_start
    kill -INT "$WRK_keepalive" "$WRK_newconn" 2>/dev/null || true
    wait "$WRK_keepalive" "$WRK_newconn" 2>/dev/null || true
    poll_finish "$WORK/poll-load.txt" "    $1, the polling client beside the 32 others" ||
        { grep -v ' 200 ' "$WORK/poll-load.txt" | head -n 5; return 1; }
    local mode bad=0 reqs max errs non2xx
    for mode in keepalive newconn; do
        reqs="$(awk '/requests in/ {print $1}' "$WORK/wrk-$mode.txt")"
        max="$(awk '$1 == "Latency" {print $4}' "$WORK/wrk-$mode.txt")"
        errs="$(grep -o 'Socket errors:.*' "$WORK/wrk-$mode.txt" || echo 'Socket errors: none')"
        non2xx="$(awk -F': ' '/Non-2xx/ {print $2}' "$WORK/wrk-$mode.txt")"
        echo "    $1, 16 $mode clients: ${reqs:-0} requests, ${non2xx:-0} non-2xx, $errs; largest latency from the first byte ${max:-?} (load $(cut -d' ' -f1-3 /proc/loadavg))"
        if [ -z "$reqs" ] || [ "${reqs:-0}" -lt 100 ] || [ -n "$non2xx" ] || ! [[ "$errs" == *none ]]; then
            cat "$WORK/wrk-$mode.txt"; bad=1
        fi
    done
    return "$bad"
}
load_start
in_ct holdfast update apply "/root/debs/holdfast-$BUNDLE_VERSION.hfu" --no-backup > "$WORK/apply-load.txt" 2>&1 ||
    { cat "$WORK/apply-load.txt"; fail "update apply under load"; }
load_finish "update apply (hand-over)" || fail "requests failed during update apply under load"
load_start
in_ct holdfast update rollback > "$WORK/rollback-load.txt" 2>&1 || { cat "$WORK/rollback-load.txt"; fail "update rollback under load"; }
load_finish "update rollback (hand-over)" || fail "requests failed during update rollback under load"
load_start
in_ct holdfast update apply "/root/debs/holdfast-$BUNDLE_VERSION.hfu" --no-backup --stop-first > "$WORK/apply-load2.txt" 2>&1 ||
    { cat "$WORK/apply-load2.txt"; fail "update apply --stop-first under load"; }
load_finish "update apply --stop-first (parked)" || fail "requests failed during update apply --stop-first under load"
load_start
in_ct holdfast update rollback --stop-first > "$WORK/rollback-load2.txt" 2>&1 || { cat "$WORK/rollback-load2.txt"; fail "update rollback --stop-first under load"; }
load_finish "update rollback --stop-first (parked)" || fail "requests failed during update rollback --stop-first under load"
[ "$(in_root dpkg-query -W -f='${Version}' holdfast)" = "$VERSION" ] || fail "the load drill did not end on $VERSION"
ok "16 keep-alive + 16 new-connection clients during apply and rollback (hand-over and parked): 0 failed requests"

# A real schema change under the same load (issue 17): this release's updater applies the schema
# drill release (DRILL_VERSION, built above with one more migration). The new version, started
# beside the service, says it would migrate and is ended; the service parks, the databases are
# snapshotted, dpkg installs, and `systemctl restart` starts the new version, which migrates. A
# rollback across the change is refused without --discard-changes; with it the service parks again
# and the previous package comes back with the snapshot: what was written before the apply is
# there, what was written on the new schema is not. It ends where the load section ended ($VERSION
# serving, its schema, its package kept), so the crash drill below starts as before.
"$RELEASE_TOOL" bundle --key "$WORK/vendor/release.key" --version "$DRILL_VERSION" \
    --min-from "$VERSION" --allow-version-mismatch --deb "$DRILL_DEB" \
    --out "$CHROOT/root/debs/holdfast-$DRILL_VERSION.hfu" >/dev/null
as_ct_holdfast() { in_ct runuser -u holdfast -- /usr/bin/holdfast "$@"; }
# The default instance's schema version, from holdfast's own doctor (Debian's sqlcipher cannot
# open holdfast's databases).
ct_schema() {
    as_ct_holdfast doctor 2>/dev/null | sed -n 's/^OK   instance default: .*(schema \([0-9]*\))$/\1/p' || true
}
journal_count() { journal | grep -c "$1" || true; }
# An update's own event in the security log. Its console is not the release of the data after the
# switch (the older one after apply, the newer one after rollback), so it hands the event to the
# service, which records it within its 5 s poll.
logged() { # EVENT TEXT
    local out
    for _ in $(seq 1 60); do
        out="$(as_ct_holdfast admin audit --type "$1")"
        grep -F "$2" <<< "$out" | grep handed_over_at >/dev/null && return 0
        sleep 0.5
    done
    return 1
}
[ "$(ct_schema)" = "$SHIPPED_SCHEMA" ] || fail "before the schema drill: schema '$(ct_schema)', expected $SHIPPED_SCHEMA"
notice_before="written on $VERSION before the schema change"
echo "$notice_before" | as_ct_holdfast admin notice set >/dev/null
[ "$(as_ct_holdfast admin notice show)" = "$notice_before" ] || fail "could not write the sign-in notice"
parks0="$(journal_count 'parked for an update: the data dir is free')"
took0="$(journal_count 'took over from the previous server')"
load_start
in_ct holdfast update apply "/root/debs/holdfast-$DRILL_VERSION.hfu" --no-backup > "$WORK/apply-drill.txt" 2>&1 ||
    { cat "$WORK/apply-drill.txt"; in_ct journalctl -u holdfast --no-pager | tail -n 30; fail "update apply of the schema drill release under load"; }
load_finish "update apply $VERSION → $DRILL_VERSION, schema $SHIPPED_SCHEMA → $DRILL_SCHEMA (parked)" ||
    fail "requests failed during the schema-changing update apply under load"
sed 's/^/    /' "$WORK/apply-drill.txt"
grep -q "the new version uses database schema $DRILL_SCHEMA .*: the old server stops first" "$WORK/apply-drill.txt" ||
    fail "update apply did not find the schema change"
grep -q "^updated $VERSION → $DRILL_VERSION; .*none was refused" "$WORK/apply-drill.txt" ||
    fail "the schema-changing update apply did not keep the socket open"
[ "$(in_root dpkg-query -W -f='${Version}' holdfast)" = "$DRILL_VERSION" ] || fail "apply did not install $DRILL_VERSION"
[ "$(journal_count 'parked for an update: the data dir is free')" -gt "$parks0" ] ||
    { journal | tail -n 40; fail "the service was not parked for the schema change"; }
[ "$(journal_count 'took over from the previous server')" = "$took0" ] ||
    fail "the schema-changing update was handed over instead of parked"
journal | grep 'database migrations applied' | grep "schema=$DRILL_SCHEMA" >/dev/null ||
    { journal | tail -n 40; fail "the new version logged no migration to schema $DRILL_SCHEMA"; }
[ "$(ct_schema)" = "$DRILL_SCHEMA" ] || fail "after the apply: schema '$(ct_schema)', expected $DRILL_SCHEMA"
[ "$(as_ct_holdfast admin notice show)" = "$notice_before" ] || fail "what was written before the apply is gone"
in_ct holdfast update status > "$WORK/status-drill.txt"
grep -q "installed version: $DRILL_VERSION" "$WORK/status-drill.txt" || fail "update status after the schema-changing apply"
grep -q 'the schema changed' "$WORK/status-drill.txt" || { cat "$WORK/status-drill.txt"; fail "update status does not say the schema changed"; }
logged update_applied "\"to\":\"$DRILL_VERSION\"" || fail "no update_applied event for $DRILL_VERSION in the security log"
ok "apply $VERSION → $DRILL_VERSION took the parked path (no hand-over) and migrated schema $SHIPPED_SCHEMA → $DRILL_SCHEMA; data kept; event logged by the service; 0 failed requests"
echo "written on $DRILL_VERSION, after the schema change" | as_ct_holdfast admin notice set >/dev/null
[ "$(as_ct_holdfast admin notice show)" != "$notice_before" ] || fail "could not write the sign-in notice on $DRILL_VERSION"
if in_ct holdfast update rollback > "$WORK/rollback-drill-refused.txt" 2>&1; then
    cat "$WORK/rollback-drill-refused.txt"; fail "a rollback across the schema change ran without --discard-changes"
fi
grep -q 'changed the database schema.*--discard-changes' "$WORK/rollback-drill-refused.txt" ||
    { cat "$WORK/rollback-drill-refused.txt"; fail "the rollback was refused for another reason"; }
if [ "$(in_root dpkg-query -W -f='${Version}' holdfast)" != "$DRILL_VERSION" ] || [ "$(ct_schema)" != "$DRILL_SCHEMA" ]; then
    fail "the refused rollback changed something"
fi
ok "update rollback without --discard-changes refused: the schema changed"
load_start
in_ct holdfast update rollback --discard-changes > "$WORK/rollback-drill.txt" 2>&1 ||
    { cat "$WORK/rollback-drill.txt"; in_ct journalctl -u holdfast --no-pager | tail -n 30; fail "update rollback --discard-changes under load"; }
load_finish "update rollback --discard-changes $DRILL_VERSION → $VERSION, schema $DRILL_SCHEMA → $SHIPPED_SCHEMA (parked)" ||
    fail "requests failed during update rollback --discard-changes under load"
sed 's/^/    /' "$WORK/rollback-drill.txt"
grep -q "^rolled back $DRILL_VERSION → $VERSION .*none was refused" "$WORK/rollback-drill.txt" ||
    fail "update rollback --discard-changes did not keep the socket open"
grep -q 'the databases as they were before this rollback are kept in' "$WORK/rollback-drill.txt" ||
    fail "update rollback --discard-changes did not keep the discarded databases aside"
[ "$(in_root dpkg-query -W -f='${Version}' holdfast)" = "$VERSION" ] || fail "rollback did not reinstall $VERSION"
[ "$(journal_count 'parked for an update: the data dir is free')" -gt "$((parks0 + 1))" ] ||
    { journal | tail -n 40; fail "the service was not parked for the rollback across the schema change"; }
[ "$(ct_schema)" = "$SHIPPED_SCHEMA" ] || fail "after the rollback: schema '$(ct_schema)', expected $SHIPPED_SCHEMA"
[ "$(as_ct_holdfast admin notice show)" = "$notice_before" ] ||
    fail "after the rollback the data is not as it was before the apply"
in_ct holdfast update status | grep "installed version: $VERSION" >/dev/null || fail "update status after the rollback"
logged update_rolled_back '"databases_restored":true' || fail "no update_rolled_back event in the security log"
# Only the release that serves the data migrates it: the rollback's console (the newer release)
# left the restored databases alone, so the old version starts on them again.
in_ct systemctl restart holdfast.service
[ "$(unit_prop ActiveState)" = active ] || { journal | tail -n 20; fail "$VERSION does not start again on the restored databases"; }
[ "$(ct_schema)" = "$SHIPPED_SCHEMA" ] || fail "after a restart: schema '$(ct_schema)', expected $SHIPPED_SCHEMA"
ok "rollback --discard-changes: $VERSION serves schema $SHIPPED_SCHEMA again with the data from before the apply, and starts on it again; event logged by the service; 0 failed requests"

# Crash drill: `update apply` stopped at a journaled step by its test hook (HOLDFAST_UPDATE_PAUSE_AT,
# SIGSTOP), killed there (SIGKILL), then `update recover`: afterwards exactly one version serves,
# never none — the old one, or the new one complete (then `update rollback` brings back the old one
# for the next kill) — and no polling client's request failed meanwhile. Every step of both paths:
# the hand-over inside the service (`candidate`: the new package is installed and its server runs
# beside the old one), and --stop-first, what a schema change does (from `stopping` on the old
# service is parked, and stays parked, clients waiting, until recover restarts a server).
HANDOVER_STEPS="staged backed_up swapped candidate stopping stopped started ready"
PARKED_STEPS="staged backed_up stopping stopped snapshotted installed started ready"
crash_at() { # STEP [APPLY OPTIONS]
    local step="$1" apid="" nspid="" runner outcome _
    shift
    poll_start "$WORK/poll-crash-$step$*.txt"
    in_ct env HOLDFAST_UPDATE_PAUSE_AT="$step" holdfast update apply \
        "/root/debs/holdfast-$BUNDLE_VERSION.hfu" --no-backup "$@" > "$WORK/crash-$step.txt" 2>&1 &
    runner=$!
    for _ in $(seq 1 600); do
        apid="$(ps -eo pid=,stat=,args= | awk '$2 ~ /^T/ && $3 ~ /holdfast$/ && $4 == "update" && $5 == "apply" { print $1 }')"
        [ -n "$apid" ] && break
        sleep 0.1
    done
    [ -n "$apid" ] || { cat "$WORK/crash-$step.txt"; fail "update apply $* did not stop at step $step"; }
    # Its parent is the nsenter that in_ct started: nsenter stops itself when its child stops, so
    # it is continued once the child is gone.
    nspid="$(ps -o ppid= -p "$apid" | tr -d ' ')"
    kill -KILL "$apid"
    kill -CONT "$nspid" 2>/dev/null || true
    wait "$runner" || true
    in_ct holdfast update recover > "$WORK/recover-$step.txt" 2>&1 ||
        { cat "$WORK/recover-$step.txt"; fail "update recover after a kill at step $step $*"; }
    [ "$(unit_prop ActiveState)" = active ] || fail "after the kill at $step $*: the service is not active"
    # (A candidate killed by recover may take a moment to be reaped by the server that started it.)
    for _ in $(seq 1 50); do
        [ "$(in_ct pgrep -c -u holdfast -x holdfast || true)" = 1 ] && break
        sleep 0.1
    done
    [ "$(in_ct pgrep -c -u holdfast -x holdfast || true)" = 1 ] ||
        { in_ct ps -u holdfast -o pid,stat,args; fail "after the kill at $step $*: not exactly one holdfast server"; }
    case "$(in_root dpkg-query -W -f='${Version}' holdfast)" in
        "$VERSION") outcome="$VERSION (the old version)" ;;
        "$BUNDLE_VERSION")
            outcome="$BUNDLE_VERSION (the update, complete)"
            in_ct holdfast update status | grep "installed version: $BUNDLE_VERSION" >/dev/null ||
                fail "update status after the kill at $step $*"
            in_ct holdfast update rollback > "$WORK/crash-rollback-$step.txt" 2>&1 ||
                { cat "$WORK/crash-rollback-$step.txt"; fail "update rollback after the kill at $step $*"; } ;;
        *) fail "after the kill at $step $*: neither $VERSION nor $BUNDLE_VERSION is installed" ;;
    esac
    poll_finish "$WORK/poll-crash-$step$*.txt" "update apply $* killed at step $step, then update recover" ||
        { grep -v ' 200 ' "$WORK/poll-crash-$step$*.txt" | head -n 5; fail "requests failed around the kill at step $step $*"; }
    [ "$(in_root dpkg-query -W -f='${Version}' holdfast)" = "$VERSION" ] || fail "after the kill at $step $*: not back on $VERSION"
    in_ct holdfast update status | grep "installed version: $VERSION" >/dev/null || fail "update status after the kill at $step $*"
    ok "apply $* killed at $step, recovered: $outcome served, one server process, 0 failed requests"
}
for step in $HANDOVER_STEPS; do crash_at "$step"; done
for step in $PARKED_STEPS; do crash_at "$step" --stop-first; done
# An older package (without holdfast.socket), when one is given: packaging/old-package-drill.sh.
if [ -n "${HOLDFAST_OLD_DEB:-}" ]; then
    # shellcheck source=packaging/old-package-drill.sh
    . packaging/old-package-drill.sh
fi
pid1="$(unit_prop MainPID)"

in_ct dpkg -i "/root/debs/$(basename "$DEB2")"
pid2="$(unit_prop MainPID)"
if [ "$(unit_prop ActiveState)" != active ] || [ "$pid2" = "$pid1" ]; then fail "not restarted on upgrade"; fi
ok "upgrade restarted the running service"
in_ct systemctl stop holdfast.service
in_ct dpkg -i "/root/debs/$(basename "$DEB2")"
[ "$(unit_prop ActiveState)" = inactive ] || fail "reinstall started a service the admin had stopped"
ok "a stopped service stays stopped on upgrade (try-restart)"
# docs/install.md section 6, as written (host key only: the container has no TPM).
in_ct sh -ec 'install -d -m 0700 /etc/holdfast/credentials
    (umask 077 && systemd-creds encrypt --name=holdfast-master --with-key=host \
        /var/lib/holdfast/keys/master.key /etc/holdfast/credentials/holdfast-master.cred) 2>/dev/null
    mkdir -p /etc/systemd/system/holdfast.service.d
    printf "[Service]\nLoadCredentialEncrypted=holdfast-master:/etc/holdfast/credentials/holdfast-master.cred\n" \
        > /etc/systemd/system/holdfast.service.d/credential.conf
    mv /var/lib/holdfast/keys/master.key /root/master.key.offline
    systemctl daemon-reload
    systemctl start holdfast.service'
[ "$(unit_prop ActiveState)" = active ] || fail "does not start with the credential"
in_ct journalctl -u holdfast --no-pager -o cat | grep 'master key loaded' | tail -n 1 | grep -q 'source=systemd credential' ||
    fail "master key not taken from the credential"
ok "started with the master key from the systemd credential, no key file on disk"
in_ct dpkg --purge holdfast
[ "$(unit_prop LoadState)" = not-found ] || fail "unit still loaded after purge"
if in_ct getent passwd holdfast || [ -e "$CHROOT/var/lib/holdfast" ] || [ -e "$CHROOT/etc/holdfast" ]; then
    fail "purge left user or files behind"
fi
ok "purge stopped the service and removed unit, user, /etc/holdfast (credential) and data"
stop_container
fi

end_step
printf '\n== summary\n'
printf '%s\n' "${SUMMARY[@]}"
printf '%5ds  total\n' "$((SECONDS - START))"
echo "package check passed: $DEB (lintian clean, exposure $score)"
