#!/bin/sh
# contrib/auth_token/test/run_test.sh CORRAL_CONFIG MODULE_SO
#
# `make check` of the example module: starts the installed corrald (the one
# next to CORRAL_CONFIG) with the freshly built module on a port the kernel
# chooses, runs token_client.py against it, stops it.  Every wait is
# bounded; the server is killed however the script ends.  Needs python3
# with kazoo (Debian: python3-kazoo); without it, says so and passes.
set -u
config=${1:?usage: run_test.sh CORRAL_CONFIG MODULE_SO}
so=${2:?usage: run_test.sh CORRAL_CONFIG MODULE_SO}
here=$(cd "$(dirname "$0")" && pwd)
python=${CORRAL_PYTHON:-/usr/bin/python3}
bindir=$("$config" --bindir) || exit 1
sodir=$(cd "$(dirname "$so")" && pwd)

if ! "$python" -c 'import kazoo' 2>/dev/null; then
    echo "run_test.sh: $python has no kazoo: live test skipped"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/auth_token_test.XXXXXX") || exit 1
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cat > "$tmp/corrald.yaml" <<EOC
server:
  data_dir: $tmp/data
  client_listen: 127.0.0.1:0
module_path: [$sodir]
modules:
  auth_token:
    tokens:
      - { name: ci, token: "ci-secret-1" }
      - { name: deploy, token: "deploy-secret-2" }
EOC

"$bindir/corrald" -c "$tmp/corrald.yaml" > "$tmp/corrald.log" 2>&1 &
pid=$!
addr=
i=0
while [ $i -lt 100 ]; do
    addr=$(sed -n 's/.*ready: serving clients on \([0-9.]*:[0-9]*\).*/\1/p' "$tmp/corrald.log")
    [ -n "$addr" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
if [ -z "$addr" ]; then
    echo "run_test.sh: corrald did not start:" >&2
    cat "$tmp/corrald.log" >&2
    exit 1
fi
grep -q 'loaded module auth_token 1.0' "$tmp/corrald.log" || { echo "module not loaded" >&2; exit 1; }

timeout 60 "$python" "$here/token_client.py" "$addr"
rc=$?
[ $rc -eq 0 ] || cat "$tmp/corrald.log" >&2
exit $rc
