#!/usr/bin/env bash
# Builds the stampede image from Containerfile: first the static linux binary (./stampede, for the host's
# architecture or $GOARCH), then the image, with buildah, podman or docker, whichever is installed.
#
#   build/image.sh [TAG]                         # default tag stampede:dev
#   STORAGE_DRIVER=vfs build/image.sh            # buildah without overlay support (CI, containers)
#   build/image.sh --check [TAG]                 # then check the image (buildah only): its config, and that
#                                                # the binary inside runs and reports the version built
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
if [ "${1:-}" = --check ]; then check=true; shift; fi
tag=${1:-stampede:dev}

# A tagged commit is stamped with its tag; otherwise the go command records the module's pseudo-version and
# the revision itself (stampede version shows them).
ldflags="-s -w"
if tagv=$(git describe --tags --exact-match 2>/dev/null); then ldflags="$ldflags -X main.version=$tagv"; fi
CGO_ENABLED=0 GOOS=linux go build -buildvcs=auto -trimpath -ldflags "$ldflags" -o stampede ./cmd/stampede
echo "built ./stampede: $(./stampede version | head -1)"

buildah_opts=()
if [ -n "${STORAGE_DRIVER:-}" ]; then buildah_opts=(--storage-driver "$STORAGE_DRIVER"); fi
if command -v buildah >/dev/null; then
  buildah "${buildah_opts[@]}" bud --quiet -f Containerfile -t "$tag" .
elif command -v podman >/dev/null; then
  podman build -f Containerfile -t "$tag" .
elif command -v docker >/dev/null; then
  docker build -f Containerfile -t "$tag" .
else
  echo "build/image.sh: no buildah, podman or docker; ./stampede is built" >&2
  exit 1
fi
echo "built image $tag"
$check || exit 0

command -v buildah >/dev/null || { echo "build/image.sh --check: needs buildah" >&2; exit 1; }
command -v jq >/dev/null || { echo "build/image.sh --check: needs jq" >&2; exit 1; }
config=$(buildah "${buildah_opts[@]}" inspect --type image "$tag")
want() { # want JQ-EXPRESSION EXPECTED
  got=$(jq -c "$1" <<<"$config")
  if [ "$got" != "$2" ]; then echo "image $tag: $1 is $got, want $2" >&2; exit 1; fi
  echo "  $1 = $got"
}
want '.OCIv1.config.User' '"65532:65532"'
want '.OCIv1.config.ExposedPorts | keys' '["8080/tcp"]'
want '.OCIv1.config.Entrypoint' '["/stampede"]'
want '.OCIv1.config.Cmd' '["serve","--addr","0.0.0.0:8080"]'
want '.OCIv1.config.Labels["org.opencontainers.image.licenses"]' '"Apache-2.0"'
want '[.OCIv1.rootfs.diff_ids | length]' '[1]'   # scratch plus one layer: the binary

# Running a container may be impossible here (no runtime, no namespaces): mount the image's file system and
# run the binary it holds.
ctr=$(buildah "${buildah_opts[@]}" from --quiet "$tag")
trap 'buildah "${buildah_opts[@]}" rm "$ctr" >/dev/null' EXIT
mnt=$(buildah "${buildah_opts[@]}" mount "$ctr")
ls -ln "$mnt"
[ "$(ls -A "$mnt")" = stampede ] || { echo "image $tag holds more than /stampede: $(ls -A "$mnt")" >&2; exit 1; }
inside=$("$mnt/stampede" version)
echo "$inside" | sed 's/^/  inside: /'
[ "$inside" = "$(./stampede version)" ] || { echo "the binary in the image is not the one built" >&2; exit 1; }
"$mnt/stampede" run --only none --format json >/dev/null
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then   # as the image's user, who owns nothing
  setpriv --reuid 65532 --regid 65532 --clear-groups "$mnt/stampede" run --only none --format json >/dev/null
  echo "  runs as 65532:65532"
fi
echo "image $tag: config checked, its binary runs"
