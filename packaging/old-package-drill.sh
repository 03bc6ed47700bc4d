# shellcheck shell=bash
# shellcheck disable=SC2016 # dpkg-query formats are single-quoted on purpose
# An operator's drill against an older package (issue 17), sourced by ci-package-check.sh inside its
# live section when HOLDFAST_OLD_DEB names a .deb of an earlier release (one without
# holdfast.socket, e.g. built from a commit before socket activation with packaging/build-deb.sh
# --deb-version 0.0.9). Not part of CI: it needs a second release build of an older commit. It uses
# the check's container, functions and variables (in_ct, in_root, unit_prop, poll_start,
# poll_finish, ok, fail, CHROOT, WORK, DEB, DEB2, VERSION, UPGRADE_VERSION, RELEASE_TOOL).
#
#  1. The older package is installed and serves (its server binds the port itself).
#  2. Its own `update apply` (an updater older than the hand-over and the park) installs this
#     tree's package from a signed bundle: the socket unit arrives, the service ends up on it.
#  3. This tree's `update rollback` goes back to the older package: dpkg removes holdfast.socket's
#     file while the unit still listens, the update retires that orphan, and the older version
#     binds the port itself and serves.
#  4. This tree's package is installed again and the check goes on.
# Failed requests are counted and printed, not failures: the older version has no socket unit, so
# clients may be refused while it starts; that the service serves afterwards is what is checked.

OLD_DEB_NAME="$(basename "$HOLDFAST_OLD_DEB")"
OLD_VERSION="$(dpkg-deb -f "$HOLDFAST_OLD_DEB" Version)"
cp "$HOLDFAST_OLD_DEB" "$CHROOT/root/debs/$OLD_DEB_NAME"
serving() { # the service active and /healthz answering 200 within 60 s
    local code=""
    for _ in $(seq 1 120); do
        code="$(timeout 10 nsenter -t "$CT_PID" -n -- curl -sk -o /dev/null -w '%{http_code}' --max-time 5 https://127.0.0.1/healthz || true)"
        [ "$code" = 200 ] && [ "$(unit_prop ActiveState)" = active ] && return 0
        sleep 0.5
    done
    return 1
}
relaxed_poll_finish() { # OUT LABEL: the figures, and never a failure
    poll_finish "$@" || true
}

# 1. The older package on a fresh machine. (Going down to it in place is not possible: its schema is
# older than the data this tree's package left, and it refuses newer data.) Purge, install it, and
# trust the check's vendor key again (purge removed /etc/holdfast).
in_ct dpkg --purge holdfast > "$WORK/old-purge.txt" 2>&1 || { cat "$WORK/old-purge.txt"; fail "purge before the older package"; }
in_ct dpkg -i "/root/debs/$OLD_DEB_NAME" > "$WORK/old-install.txt" 2>&1 ||
    { cat "$WORK/old-install.txt"; fail "installing the older package $OLD_VERSION"; }
install -d -m 0755 -o root -g root "$CHROOT/etc/holdfast/trusted-keys"
install -m 0644 -o root -g root "$WORK/vendor/release.pub" "$CHROOT/etc/holdfast/trusted-keys/ci-vendor.pub"
serving || { in_ct journalctl -u holdfast --no-pager | tail -n 30; fail "the older package $OLD_VERSION does not serve"; }
[ "$(in_ct systemctl show holdfast.socket --value -p LoadState)" = not-found ] ||
    fail "the older package $OLD_VERSION has a holdfast.socket"
ok "older package $OLD_VERSION installed on a fresh machine, serving on its own socket"

# 2. Its updater applies this tree's package (a bundle that allows updating from it).
"$RELEASE_TOOL" bundle --key "$WORK/vendor/release.key" --version "$UPGRADE_VERSION" \
    --min-from "$OLD_VERSION" --allow-version-mismatch --deb "$DEB2" \
    --out "$CHROOT/root/debs/holdfast-$UPGRADE_VERSION-from-old.hfu" >/dev/null
poll_start "$WORK/poll-old-apply.txt"
in_ct holdfast update apply "/root/debs/holdfast-$UPGRADE_VERSION-from-old.hfu" --no-backup \
    --previous-deb "/root/debs/$OLD_DEB_NAME" > "$WORK/old-apply.txt" 2>&1 ||
    { cat "$WORK/old-apply.txt"; in_ct journalctl -u holdfast --no-pager | tail -n 30; fail "the older updater's apply of $UPGRADE_VERSION"; }
relaxed_poll_finish "$WORK/poll-old-apply.txt" "update apply by $OLD_VERSION's updater ($OLD_VERSION → $UPGRADE_VERSION)"
serving || { in_ct journalctl -u holdfast --no-pager | tail -n 30; fail "$UPGRADE_VERSION does not serve after the older updater's apply"; }
[ "$(in_root dpkg-query -W -f='${Version}' holdfast)" = "$UPGRADE_VERSION" ] || fail "the older updater did not install $UPGRADE_VERSION"
ok "$OLD_VERSION's updater installed $UPGRADE_VERSION; it serves (socket unit $(in_ct systemctl show holdfast.socket --value -p ActiveState))"

# 3. This tree's rollback to the package without holdfast.socket.
poll_start "$WORK/poll-old-rollback.txt"
# The update may have changed the schema; then the rollback restores the snapshot and must be
# asked for with --discard-changes (accepted either way).
in_ct holdfast update rollback --discard-changes > "$WORK/old-rollback.txt" 2>&1 ||
    { cat "$WORK/old-rollback.txt"; in_ct journalctl -u holdfast --no-pager | tail -n 30; fail "rollback to the package without holdfast.socket"; }
relaxed_poll_finish "$WORK/poll-old-rollback.txt" "update rollback to $OLD_VERSION (no holdfast.socket)"
serving || { in_ct journalctl -u holdfast --no-pager | tail -n 30; fail "$OLD_VERSION does not serve after the rollback"; }
[ "$(in_root dpkg-query -W -f='${Version}' holdfast)" = "$OLD_VERSION" ] || fail "the rollback did not reinstall $OLD_VERSION"
[ "$(in_ct systemctl show holdfast.socket --value -p ActiveState)" != active ] ||
    fail "holdfast.socket still listens after the rollback to a package without it"
ok "rollback to $OLD_VERSION (no holdfast.socket): the orphaned socket unit was retired, $OLD_VERSION serves on its own socket"

# 4. Back to this tree's package for the rest of the check, on a fresh machine again.
in_ct dpkg --purge holdfast > "$WORK/back-purge.txt" 2>&1 || { cat "$WORK/back-purge.txt"; fail "purge after the older package"; }
in_ct dpkg -i "/root/debs/$(basename "$DEB")" > "$WORK/back-install.txt" 2>&1 ||
    { cat "$WORK/back-install.txt"; fail "installing $VERSION again after the older package"; }
serving || { in_ct journalctl -u holdfast --no-pager | tail -n 30; fail "$VERSION does not serve after coming back from $OLD_VERSION"; }
[ "$(in_ct systemctl show holdfast.socket --value -p ActiveState)" = active ] || fail "holdfast.socket is not active again"
ok "back on $VERSION with holdfast.socket"
