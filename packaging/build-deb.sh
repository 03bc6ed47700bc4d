#!/usr/bin/env bash
# Builds holdfast's .deb: `cargo deb`, then adds the md5sums control file that cargo-deb does not
# write (dpkg --verify and debsums need it to check installed files against the package).
#
#   packaging/build-deb.sh [--deb-version VERSION] [--output DIR]
#
# Uses the release binary at $CARGO_TARGET_DIR/release/holdfast (default target/) when it exists,
# otherwise builds it. Cargo.toml must carry packaging/cargo-deb.toml's [package.metadata.deb]
# unchanged (checked here, so the two cannot drift). Writes <deb>.sha256 beside the package and
# prints the path of the .deb on the last line.
# Needs: cargo-deb, dpkg-dev, python3 (3.11+, for tomllib).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUTPUT="$TARGET_DIR/debian"
DEB_VERSION=""

while [ "$#" -gt 0 ]; do
    case "$1" in
        --deb-version) DEB_VERSION="$2"; shift 2 ;;
        --output) OUTPUT="$2"; shift 2 ;;
        *) echo "usage: $0 [--deb-version VERSION] [--output DIR]" >&2; exit 2 ;;
    esac
done

# The metadata in Cargo.toml must be the reviewed fragment, key for key.
python3 - "$ROOT/Cargo.toml" "$ROOT/packaging/cargo-deb.toml" <<'PY'
import sys, tomllib
def deb(path):
    with open(path, "rb") as f:
        return tomllib.load(f).get("package", {}).get("metadata", {}).get("deb")
cargo, fragment = deb(sys.argv[1]), deb(sys.argv[2])
if cargo is None:
    sys.exit("build-deb: Cargo.toml has no [package.metadata.deb]; paste packaging/cargo-deb.toml into it")
if cargo != fragment:
    sys.exit("build-deb: Cargo.toml's [package.metadata.deb] differs from packaging/cargo-deb.toml")
PY

mkdir -p "$OUTPUT"
args=(--output "$OUTPUT/")
if [ -n "$DEB_VERSION" ]; then
    args+=(--deb-version "$DEB_VERSION")
fi
# --no-build: CI and the release build the binary once, with their own flags; cargo-deb packages it.
if [ -x "$TARGET_DIR/release/holdfast" ]; then
    args+=(--no-build)
fi
# cargo-deb prints the .deb's path as its last line of standard output.
deb="$(cargo deb "${args[@]}" | tail -n 1)"
[ -f "$deb" ] || { echo "build-deb: cargo deb produced no package" >&2; exit 1; }

# Repack with md5sums. Like dh_md5sums, conffiles are left out: dpkg records their hashes itself.
# Timestamps come from the changelog (reproducible builds); owners are root.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dpkg-deb --raw-extract "$deb" "$work/pkg"
(
    cd "$work/pkg"
    touch DEBIAN/conffiles
    find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
        grep -vxF -f <(sed 's|^/||' DEBIAN/conffiles) |
        while IFS= read -r f; do md5sum -- "$f"; done > DEBIAN/md5sums
    [ -s DEBIAN/conffiles ] || rm DEBIAN/conffiles
)
chmod 0644 "$work/pkg/DEBIAN/md5sums"
SOURCE_DATE_EPOCH="$(dpkg-parsechangelog --file debian/changelog --show-field Timestamp)"
export SOURCE_DATE_EPOCH
dpkg-deb --root-owner-group -Zxz --build "$work/pkg" "$work/out.deb" >/dev/null
mv "$work/out.deb" "$deb"
# The checksum file that travels with the package (docs/install.md, section 2).
(cd "$(dirname "$deb")" && sha256sum -- "$(basename "$deb")" > "$(basename "$deb").sha256")
echo "$deb"
