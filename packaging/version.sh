#!/bin/sh
# Prints the version `make build` and `make release-snapshot` stamp into
# asanajira: the tag without its "v" when HEAD carries a vX.Y.Z tag, else the
# latest released version in CHANGELOG.md plus the commit as build metadata
# (0.2.0+ae713bd, with ".dirty" when tracked files have uncommitted changes).
set -eu
cd "$(dirname "$0")/.."
if tag=$(git describe --tags --exact-match --match 'v[0-9]*' HEAD 2>/dev/null); then
  echo "${tag#v}"
  exit 0
fi
latest=$(sed -n 's/^## \[\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*[^]]*\)\].*/\1/p' CHANGELOG.md | head -n 1)
if [ -z "$latest" ]; then
  echo "packaging/version.sh: no released version (## [X.Y.Z] - DATE) in CHANGELOG.md" >&2
  exit 1
fi
commit=$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
dirty=""
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  dirty=".dirty"
fi
echo "$latest+$commit$dirty"
