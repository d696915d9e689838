#!/usr/bin/env bash
# The whole test suite (`deno task test`). Installs the services the tests start
# (Redis, Prometheus, a container registry, openssl) from Debian's packages when they are missing; PostgreSQL 15 is
# expected on the machine and each suite starts its own server in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${missing[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packages start system services where an init system runs: the tests start their own.
    (service prometheus stop; service redis-server stop; service docker-registry stop) >/dev/null 2>&1 || true
  else
    echo "error: the tests need ${missing[*]}: install them with apt-get (as root)" >&2
    exit 1
  fi
fi

deno install --frozen
exec deno test -A --frozen "$@" tests/
