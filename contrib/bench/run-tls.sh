#!/bin/bash
# contrib/bench/run-tls.sh: the cost of TLS (doc/benchmarks.md, "TLS").
#
# One corrald with both listeners (plaintext and secure_client_listen, a
# throwaway EC P-256 certificate), pinned to CPU 1; corral-bench pinned to
# CPU 0 runs getData and setData of 1 KiB, 32 sessions x 16 outstanding,
# 2 s warm-up then 8 s, plaintext then TLS, three interleaved rounds.
# Prints one line per run (JSON from corral-bench, with the load average).
#
#   contrib/bench/run-tls.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
W=${2:-$(mktemp -d /tmp/corral-tls-bench.XXXX)}
cd "$W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 \
    -subj "/CN=bench CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout s.key -out s.csr -subj "/CN=bench" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > s.ext
openssl x509 -req -in s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out s.pem -days 30 -extfile s.ext 2>/dev/null
rm -rf data
cat > c.yaml <<EOC
server:
  data_dir: $W/data
  client_listen: 127.0.0.1:23181
  secure_client_listen: 127.0.0.1:23182
  max_client_connections: 0
  log_level: warn
tls: { cert_file: $W/s.pem, key_file: $W/s.key, ca_file: $W/ca.pem }
module_path: [$B/modules]
modules:
  fourlw: { allow: ["*"] }
EOC
taskset -c 1 "$B/bin/corrald" -c c.yaml 2> server.log &
SP=$!
trap 'kill $SP 2>/dev/null || true' EXIT
sleep 1
"$B/bin/corral-bench" -s 127.0.0.1:23181 --op get --size 1024 -d 1 -w 0 -q > /dev/null   # the keys
for round in 1 2 3; do
    for op in get set; do
        for mode in plain tls; do
            if [ $mode = tls ]; then A=(-s 127.0.0.1:23182 --tls ca.pem); else A=(-s 127.0.0.1:23181); fi
            echo "round=$round op=$op mode=$mode load=$(cut -d' ' -f1 /proc/loadavg)" \
                "$(taskset -c 0 "$B/bin/corral-bench" "${A[@]}" --op $op --size 1024 -c 32 -p 16 -w 2 -d 8 \
                   --no-populate --json -q)"
        done
    done
done
