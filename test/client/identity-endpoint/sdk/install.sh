#!/usr/bin/env bash
# Installs the real Azure SDKs the identity endpoint's cross-language tests run (test/client/identity-endpoint/
# sdk-*.int.test.ts), all under the git-ignored .cache/sdk/ of the repository, from the versions pinned here:
#   python/requirements.txt  → .cache/sdk/python-venv       (PyPI)
#   go/go.mod, go/go.sum     → .cache/sdk/bin/go-probe      (Go module proxy; module and build caches in .cache/sdk)
#   java/pom.xml             → .cache/sdk/java-lib/*.jar    (Maven Central; local repository in .cache/sdk/m2)
# Idempotent: each part is redone only when its pinned files changed (a stamp holds their hash). .ci/run calls it;
# a developer runs it once before `npm run test:integration`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
cache="$root/.cache/sdk"
mkdir -p "$cache/bin"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
apt_updated=""
apt_install() {
  echo "installing $* (apt)" >&2
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Runs "$@" unless the hash of the files named in $2.. matches the stamp $1; records it afterwards.
fresh() {
  local stamp="$cache/$1.stamp"; shift
  local files=()
  while [ "$1" != "--" ]; do files+=("$1"); shift; done
  shift
  local hash
  hash="$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then return 0; fi
  "$@"
  echo "$hash" > "$stamp"
}

python_sdk() {
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then apt_install python3-venv; fi
  rm -rf "$cache/python-venv"
  python3 -m venv "$cache/python-venv"
  "$cache/python-venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
}

go_sdk() {
  command -v go >/dev/null 2>&1 || apt_install golang-go
  (
    cd "$here/go"
    export GOMODCACHE="$cache/go-mod" GOCACHE="$cache/go-build" GOFLAGS=-modcacherw GOTOOLCHAIN=local
    go build -o "$cache/bin/go-probe" .
  )
}

java_sdk() {
  command -v mvn >/dev/null 2>&1 || apt_install maven
  rm -rf "$cache/java-lib"
  mvn -B -q -f "$here/java/pom.xml" -Dmaven.repo.local="$cache/m2" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$cache/java-lib"
}

fresh python "$here/python/requirements.txt" -- python_sdk
fresh go "$here/go/go.mod" "$here/go/go.sum" "$here/go/main.go" -- go_sdk
fresh java "$here/java/pom.xml" -- java_sdk
echo "Azure SDKs for the identity endpoint tests are in $cache" >&2
