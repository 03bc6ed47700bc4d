#!/usr/bin/env bash
# Schema-changing update under load (issue 17), on a binary install: an OLD release (an older
# database schema) serves an instance of CLIENTS clients; `update apply` installs NEW from a signed
# bundle, which stops the old server, snapshots the databases and migrates them while the listening
# socket stays open; then `update rollback` restores the snapshot and the old release. Meanwhile 16
# keep-alive clients and 16 clients opening a new TLS connection per request (wrk) and one polling
# client (curl, a new connection per request, its time including the wait to connect) hammer the
# server. Prints requests, failures (socket errors, non-2xx, failed polls) and the longest wait.
# A benchmark, not a test: nothing is asserted beyond the commands succeeding.
#
# Usage: benches/schema-update.sh OLD_BIN NEW_BIN RELEASE_TOOL [CLIENTS]
#   OLD_BIN       a release build of an earlier commit with an older schema (e.g. built in a git
#                 worktree: `git worktree add ../old <commit> && cd ../old && cargo build --release`)
#   NEW_BIN       this tree's release build (target/release/holdfast)
#   RELEASE_TOOL  this tree's signing tool (target/release/holdfast-release)
#   CLIENTS       clients in the instance (default 100000), imported as CSV through the API
# Needs wrk, curl, dpkg-deb and python3. Loopback only (a port the OS picks); every load is
# bounded in time; only the processes it started are stopped, by PID.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,17p' "$0"; exit 2; }
OLD=$(realpath "$1"); NEW=$(realpath "$2"); RELEASE=$(realpath "$3"); CLIENTS=${4:-100000}
for tool in wrk curl dpkg-deb python3; do
    command -v "$tool" >/dev/null || { echo "schema-update: $tool is needed" >&2; exit 2; }
done
WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    # A server an update started: its PID is in run.json; it is ended only if it runs this
    # install's binary.
    if [ -f "$WORK/data/run.json" ]; then
        pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("pid",""))' "$WORK/data/run.json" 2>/dev/null || true)
        if [ -n "$pid" ] && [ "$pid" -gt 1 ] &&
            [ "$(readlink "/proc/$pid/exe" 2>/dev/null | sed 's/ (deleted)$//')" = "$WORK/bin/holdfast" ]; then
            kill "$pid" 2>/dev/null || true
        fi
    fi
    sleep 1
    rm -rf "$WORK"
}
trap cleanup EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "schema-changing update under load — $(nproc) cores, load $(load)"
echo "  old: $("$OLD" --version), new: $("$NEW" --version), $CLIENTS clients"

mkdir -m 0700 "$WORK/data"
mkdir -p "$WORK/bin" "$WORK/keys"
install -m 0755 "$OLD" "$WORK/bin/holdfast"
"$RELEASE" keygen --out "$WORK/keys" >/dev/null
mkdir -m 0755 "$WORK/trusted"
install -m 0644 "$WORK/keys/release.pub" "$WORK/trusted/vendor.pub"
cat > "$WORK/holdfast.toml" <<TOML
[update]
trusted_keys_dir = "$WORK/trusted"
ready_timeout_seconds = 300

[server]
shutdown_grace_seconds = 2
TOML
hf() { "$WORK/bin/holdfast" --config "$WORK/holdfast.toml" --data-dir "$WORK/data" "$@"; }
hf init >/dev/null 2>&1
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="https://127.0.0.1:$PORT"
HOLDFAST_LOG=warn hf serve --listen "127.0.0.1:$PORT" </dev/null >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
ready() { curl -sk -o /dev/null -w '%{http_code}' --max-time 5 "$URL/readyz" 2>/dev/null | grep -q 200; }
for _ in $(seq 1 600); do ready && break; sleep 0.1; done
ready || { cat "$WORK/serve.log"; echo "the old server did not start" >&2; exit 1; }

# The clients, through the API's CSV import (the token goes in a header file, never in argv).
token=$(hf admin token create --service bench --scopes clients:read,clients:write | awk '/^ *hft_/ {print $1}')
(umask 077 && printf 'Authorization: Bearer %s\n' "$token" > "$WORK/auth.hdr")
python3 - "$CLIENTS" > "$WORK/clients.csv" <<'PY'
import sys
n = int(sys.argv[1])
print("name,email,notes")
for i in range(n):
    print(f"Client {i} Logistics GmbH,office{i}@client{i}.example,Framework agreement; invoices quarterly")
PY
t=$(date +%s.%N)
chunk=20000
tail -n +2 "$WORK/clients.csv" | split -l "$chunk" - "$WORK/part-"
for part in "$WORK"/part-*; do
    { echo "name,email,notes"; cat "$part"; } > "$part.csv"
    code=$(curl -sk -o "$WORK/import.out" -w '%{http_code}' -H @"$WORK/auth.hdr" -H 'content-type: text/csv' \
        --data-binary @"$part.csv" --max-time 600 "$URL/api/v1/clients/import")
    [ "$code" = 201 ] || { cat "$WORK/import.out"; echo "import answered $code" >&2; exit 1; }
done
echo "  imported $CLIENTS clients in $(python3 -c "import time; print(round(time.time()-$t,1))") s; database $(du -m "$WORK/data/instances/default/db.sqlite" | cut -f1) MB"

# The bundle: NEW inside a package, signed.
mkdir -p "$WORK/pkg/DEBIAN" "$WORK/pkg/usr/bin"
printf 'Package: holdfast\nVersion: 9.0.0\nArchitecture: amd64\nMaintainer: Bench <b@example.test>\nDescription: bench build\n' > "$WORK/pkg/DEBIAN/control"
install -m 0755 "$NEW" "$WORK/pkg/usr/bin/holdfast"
dpkg-deb --root-owner-group -Znone --build "$WORK/pkg" "$WORK/holdfast_9.0.0_amd64.deb" >/dev/null
"$RELEASE" bundle --key "$WORK/keys/release.key" --version 9.0.0 --min-from 0.0.1 --allow-version-mismatch \
    --deb "$WORK/holdfast_9.0.0_amd64.deb" --out "$WORK/holdfast-9.0.0.hfu" >/dev/null

measured() { # LABEL COMMAND...
    local label=$1; shift
    rm -f "$WORK/poll.stop"
    (for _ in $(seq 1 100000); do
        [ -e "$WORK/poll.stop" ] && break
        r=$(curl -sk -o /dev/null -w '%{http_code} %{time_total}' --max-time 120 "$URL/healthz" || true)
        echo "${r:-000 0}"
    done) > "$WORK/poll.txt" &
    local poller=$!
    timeout --signal=INT 600 wrk -t1 -c16 -d590s --timeout 120s "$URL/healthz" > "$WORK/wrk-ka.txt" 2>&1 &
    local ka=$!
    timeout --signal=INT 600 wrk -t1 -c16 -d590s --timeout 120s -H 'Connection: close' "$URL/healthz" > "$WORK/wrk-new.txt" 2>&1 &
    local nc=$!
    sleep 2
    local t out
    t=$(date +%s.%N)
    out=$(hf "$@" 2>&1) || { echo "$out"; echo "$label failed" >&2; }
    local took
    took=$(python3 -c "import time; print(round(time.time()-$t,2))")
    sleep 2
    kill -INT "$ka" "$nc" 2>/dev/null || true
    touch "$WORK/poll.stop"
    wait "$ka" "$nc" "$poller" 2>/dev/null || true
    echo "  $label: command $took s — $(echo "$out" | tail -n 1)"
    local f
    for f in ka new; do
        local mode="keep-alive"; [ "$f" = new ] && mode="new connection per request"
        echo "    wrk, 16 clients, $mode: $(awk '/requests in/ {print $1}' "$WORK/wrk-$f.txt") requests," \
            "non-2xx: $(awk -F': ' '/Non-2xx/ {print $2}' "$WORK/wrk-$f.txt" | grep . || echo 0)," \
            "$(grep -o 'Socket errors:.*' "$WORK/wrk-$f.txt" || echo 'socket errors: none')," \
            "largest latency from the first byte $(awk '$1 == "Latency" {print $4}' "$WORK/wrk-$f.txt")"
    done
    awk '{ n++; if ($1 != 200) failed++; if ($2 > slow) slow = $2 }
         END { printf "    polling client: %d requests, %d failed, longest wait %.0f ms (connect included)\n", n, failed, slow * 1000 }' "$WORK/poll.txt"
    echo "    load $(load)"
}
measured "apply (schema change: stop, snapshot, migrate)" update apply "$WORK/holdfast-9.0.0.hfu" --no-backup
# A rollback across a schema change restores the snapshot: what was written since is lost, so it
# must be asked for with --discard-changes.
measured "rollback (the snapshot restored, the old release started)" update rollback --discard-changes
