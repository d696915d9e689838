#!/usr/bin/env bash
# The test suite (`deno task test`), or a part of it: `deno task test tests/migrate/` or
# `deno task test tests/runner/cli_test.ts --filter help` (the arguments go to `deno test`;
# without any, `tests/`). Installs the services the tests start (PostgreSQL, Redis,
# Prometheus, Alertmanager, a container registry, git, openssl, Chromium) from Debian's packages when
# they are missing; each suite starts its own servers in temporary folders (the sandbox's
# companions among them).
set -euo pipefail
cd "$(dirname "$0")/.."

# Which arguments are paths, decided before anything is installed: an argument that is not a
# flag (no leading "-") nor the value of a flag that takes one (`--filter X`; `--filter=X`
# carries its own) is a path, and a path that does not exist is an error (exit 2), so a
# mistyped folder does not quietly run the whole suite. After `--`, the arguments are the
# tests' own (Deno.args), not paths.

# The flags of `deno test` whose value is the next argument (`deno test --help`: `<VALUE>`).
takes_value() {
  case "$1" in
    --filter | --coverage-threshold | --reporter | --junit-path | --retry | --repeats | --shard | \
      --related | --ext | --import-map | --node-modules-linker | -c | --config | --cert | \
      --min-dep-age | --inspect-publish-uid | --location | --seed | --preload | --require | \
      --conditions) return 0 ;;
    *) return 1 ;;
  esac
}
has_path=
expect_value=
for arg in "$@"; do
  if [ -n "$expect_value" ]; then
    expect_value=
  elif [ "$arg" = "--" ]; then
    break
  elif [[ "$arg" == -* ]]; then
    if takes_value "$arg"; then expect_value=1; fi
  elif [ -e "$arg" ]; then
    has_path=1
  else
    echo "error: no such test file or folder: $arg (paths are relative to the repository," \
      "e.g. tests/migrate/ or tests/migrate/cli_test.ts); nothing was run" >&2
    exit 2
  fi
done

# Debian keeps PostgreSQL's server programs (initdb, pg_ctl, postgres) out of PATH.
postgres_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && echo "$dir"
  done | sort -V | tail -n 1
}
if ! command -v initdb >/dev/null 2>&1 && [ -n "$(postgres_bin)" ]; then
  PATH="$(postgres_bin):$PATH"
fi

missing=()
command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
# The build pipeline's tests build images without a daemon (tests/build/).
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
# The rendered HTML report is opened in headless Chromium (tests/render/, playwright-core).
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The official Python client is one of the judges of the sandbox's fidelity (tests/sandbox/).
/usr/bin/python3 -c 'import kubernetes' 2>/dev/null || missing+=(python3-kubernetes)
# The live terminal view is checked as a person sees it, in tmux's capture-pane (tests/view/).
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${missing[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packages start system services where an init system runs: the tests start their own.
    (service postgresql stop; service prometheus stop; service prometheus-alertmanager stop; service redis-server stop; service docker-registry stop) >/dev/null 2>&1 || true
    command -v initdb >/dev/null 2>&1 || PATH="$(postgres_bin):$PATH"
  else
    echo "error: the tests need ${missing[*]}: install them with apt-get (as root)" >&2
    exit 1
  fi
fi
export PATH

# The arguments go to deno test as they are; without a path among them, every test in tests/.
deno install --frozen
# What the suite's files build once and share (tests/deploy/_baseline.ts), removed at the end.
TRACKTION_TEST_SHARED=$(mktemp -d -t tracktion-test-shared.XXXXXX)
export TRACKTION_TEST_SHARED
trap 'rm -rf "$TRACKTION_TEST_SHARED"' EXIT
if [ -n "$has_path" ]; then
  status=0
  deno test -A --frozen "$@" || status=$?
  exit "$status"
else
  # The files run in parallel (--parallel), one more at a time than there are CPUs (DENO_JOBS
  # overrides): each suite starts its own servers in its own folders and ports, and the deploy
  # tests' scaled clocks leave a stage's timeout seconds of real time. With as many files as
  # CPUs, the CPUs were 13% idle (1.73 of 2 busy over a 29-minute run: the files also wait on
  # servers, child processes and real-clock runs); the extra file uses that. Parallel files share one
  # process, so the files that change its environment variables or working directory run
  # after them, one at a time (tests/structure_test.ts keeps this list complete).
  SERIAL=(
    tests/capabilities/kubernetes_credentials_test.ts
    tests/capabilities/kubernetes_reachable_test.ts
    tests/capabilities/kubernetes_unavailable_test.ts
    tests/checks/redis_test.ts
    tests/checks/runner_integration_test.ts
    tests/checks/worker_test.ts
    tests/config/config_command_test.ts
    tests/config/load_environment_test.ts
    tests/config/secrets_test.ts
    tests/runner/permissions_test.ts
    tests/runner/secrets_test.ts
  )
  ignore=$(IFS=,; echo "${SERIAL[*]}")
  DENO_JOBS=${DENO_JOBS:-$(($(nproc) + 1))}
  export DENO_JOBS
  # tests/ first: after a "--" among the arguments it would be the tests' own argument.
  status=0
  deno test -A --frozen --parallel --ignore="$ignore" tests/ "$@" || status=$?
  deno test -A --frozen "${SERIAL[@]}" "$@" || status=$?
  exit "$status"
fi
