#!/usr/bin/env bash
# contrib/bench/run-compare.sh: Corral vs Apache ZooKeeper 3.8, side by side,
# on this machine, with the same load generator (corral-bench) and the same
# workloads.  Method and results: doc/benchmarks.md.
#
#   contrib/bench/run-compare.sh                 # everything (~25 min)
#   contrib/bench/run-compare.sh -o /tmp/res     # keep the results there
#   PHASES=throughput contrib/bench/run-compare.sh
#   PHASES=memory,restart LOAD_ZNODES=200000 contrib/bench/run-compare.sh
#
# What it does, one server at a time, each on a free 127.0.0.1 port with a
# fresh data directory under a temp dir:
#   throughput  corrald (storage_file, fsync on), corrald (fsync: false),
#               ZooKeeper (forceSync=yes), ZooKeeper (forceSync=no); against
#               each: set 1 KiB, get 1 KiB, mixed 90/10, create 1 KiB, with
#               CONNS sessions x PIPELINE outstanding requests, WARMUP s
#               unrecorded then DURATION s measured; the round of
#               workloads is run REPEAT times and the median run is kept.
#   memory      fresh corrald / ZooKeeper (fsync on): VmRSS before and after
#               creating LOAD_ZNODES znodes of ZNODE_BYTES bytes under one
#               parent; (after - before) / LOAD_ZNODES.  For the JVM also
#               its heap after a full GC (jcmd GC.heap_info) and its flags.
#   restart     with those LOAD_ZNODES znodes: kill -9, restart, time until
#               the server answers exists(parent) with numChildren =
#               LOAD_ZNODES on a new session (corral-bench --probe); then
#               the same after a clean stop (SIGTERM).
#
# Pinning (PIN=1, the default): the machine has 2 cores, so the server runs
# on CPU $SERVER_CPU and the client on CPU $CLIENT_CPU (taskset), the same
# for both servers.  PIN=0 lets the scheduler place them.
#
# Every process started here is killed on exit (trap), and the temp dir is
# removed unless KEEP=1.  Only 127.0.0.1 is used.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build-bench}
B=$TOP/$BUILD
BENCH=$B/bin/corral-bench
CORRALD=$B/bin/corrald
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-5}
CONNS=${CONNS:-32}
PIPELINE=${PIPELINE:-16}
SIZE=${SIZE:-1024}
KEYS=${KEYS:-10000}
LOAD_ZNODES=${LOAD_ZNODES:-1000000}
ZNODE_BYTES=${ZNODE_BYTES:-32}
ZK_HEAP=${ZK_HEAP:-4g}
PIN=${PIN:-1}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
PHASES=${PHASES:-throughput,memory,restart}
WORKLOADS=${WORKLOADS:-set get mixed:90 create}
REPEAT=${REPEAT:-3}
SERVERS=${SERVERS:-corral-fsync corral-nofsync zk-fsync zk-nofsync}
JAVA=${JAVA:-/usr/bin/java}
ZK_CP=/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-nop.jar
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
    -o) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "usage: $0 [-o OUTDIR]" >&2; exit 2 ;;
    esac
done

TMP=$(mktemp -d /var/tmp/corral-compare.XXXXXX)   # on disk (fsync means something there)
[ -n "$OUT" ] || OUT=$TMP/results
mkdir -p "$OUT"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then
        echo "kept $TMP" >&2
    else
        # results stay when -o pointed elsewhere
        case "$OUT" in "$TMP"/*) echo "results were in $OUT (removed; use -o or KEEP=1)" >&2 ;; esac
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ "$PIN" = 1 ]; then
    SRV_PIN=(taskset -c "$SERVER_CPU")
    CLI_PIN=(taskset -c "$CLIENT_CPU")
else
    SRV_PIN=()
    CLI_PIN=()
fi

# ---- build what is missing ---------------------------------------------------
if [ ! -x "$CORRALD" ] || [ ! -f "$B/modules/storage_file.so" ] || [ ! -f "$B/modules/fourlw.so" ]; then
    log "building corrald and modules in $BUILD"
    make -C "$TOP" BUILD="$BUILD" -j2 "$BUILD/bin/corrald" "$BUILD/modules/storage_file.so" \
        "$BUILD/modules/fourlw.so" >&2
fi
if [ ! -x "$BENCH" ]; then
    log "building corral-bench in $BUILD"
    make -C "$TOP/contrib/bench" BUILD="$BUILD" >&2
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# live Java heap (all generations / G1 heap) from jcmd GC.heap_info, in KiB
heap_used_kb() {
    awk '/(generation|heap) +total/ { if (match($0, /used [0-9]+K/)) s += substr($0, RSTART + 5, RLENGTH - 6) } END { print s + 0 }' "$1"
}
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# ---- servers -------------------------------------------------------------------
# start_server KIND DIR PORT: starts it in the background, sets SPID.
# KIND: corral-fsync corral-nofsync zk-fsync zk-nofsync
start_server() {
    local kind=$1 dir=$2 port=$3
    mkdir -p "$dir/data"
    case "$kind" in
    corral-*)
        local fs=true
        [ "$kind" = corral-nofsync ] && fs=false
        cat > "$dir/corral.yaml" <<EOF
server:
  data_dir: $dir/data
  client_listen: 127.0.0.1:$port
  max_client_connections: 0
  log_level: warn
module_path: [$B/modules]
modules:
  fourlw: { allow: [ruok, srvr, stat, mntr] }
  storage_file: { fsync: $fs }
EOF
        "${SRV_PIN[@]}" "$CORRALD" -c "$dir/corral.yaml" >> "$dir/server.log" 2>&1 &
        SPID=$!
        ;;
    zk-*)
        local fs=yes
        [ "$kind" = zk-nofsync ] && fs=no
        cat > "$dir/zoo.cfg" <<EOF
tickTime=2000
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr
forceSync=$fs
EOF
        (cd "$dir" && exec "${SRV_PIN[@]}" "$JAVA" "-Xmx$ZK_HEAP" -cp "$ZK_CP" \
            org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" >> "$dir/server.log" 2>&1) &
        SPID=$!
        ;;
    esac
    PIDS+=("$SPID")
}

# wait_ready PORT [PATH [CHILDREN]]: until a session can read PATH (and it
# has CHILDREN children); prints the probe's JSON.
wait_ready() {
    local port=$1 path=${2:-/} kids=${3:--1}
    "$BENCH" -s "127.0.0.1:$port" --probe "$path" --expect-children "$kids" --probe-timeout 600 --json
}

stop_server() {   # stop_server PID [SIGNAL]
    local pid=$1 sig=${2:-TERM}
    kill "-$sig" "$pid" 2>/dev/null || true
    local i
    for i in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

bench() {   # bench PORT ARGS...: corral-bench on the client CPU
    local port=$1
    shift
    "${CLI_PIN[@]}" "$BENCH" -s "127.0.0.1:$port" -q --json "$@"
}

# ---- machine ---------------------------------------------------------------------
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "kernel: $(uname -srm)"
    echo "cpu: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) x $(nproc)"
    echo "memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "disk: $(df -hT "$TMP" | awk 'NR==2 {print $1, $2}')"
    echo "java: $("$JAVA" -version 2>&1 | head -1)"
    echo "zookeeper: $(dpkg-query -W -f '${Version}' zookeeper 2>/dev/null) ($(readlink -f /usr/share/java/zookeeper.jar))"
    echo "corral: $(cd "$TOP" && git rev-parse --short HEAD 2>/dev/null)"
    echo "pin: $PIN (server cpu $SERVER_CPU, client cpu $CLIENT_CPU)"
    echo "jvm flags (as pinned): $("${SRV_PIN[@]}" "$JAVA" "-Xmx$ZK_HEAP" -XX:+PrintCommandLineFlags -version 2>&1 | head -1)"
    echo "workloads: conns=$CONNS pipeline=$PIPELINE size=$SIZE keys=$KEYS warmup=${WARMUP}s duration=${DURATION}s"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

# ---- throughput --------------------------------------------------------------------
if [[ ",$PHASES," == *,throughput,* ]]; then
    # Rounds interleave the servers (round 1: each server in turn, round 2:
    # again...), each round on a fresh server and data dir, so that outside
    # load on the machine falls on both alike.
    for r in $(seq "$REPEAT"); do
        for kind in $SERVERS; do
            dir=$TMP/$kind
            port=$(free_port)
            start_server "$kind" "$dir" "$port"
            log "$kind: pid $SPID port $port (round $r of $REPEAT)"
            wait_ready "$port" > /dev/null
            for wl in $WORKLOADS; do
                name=${wl/:/}
                f=$OUT/tp-$kind-$name-r$r.json
                load0=$(cut -d' ' -f1 /proc/loadavg)
                bench "$port" -c "$CONNS" -p "$PIPELINE" -d "$DURATION" -w "$WARMUP" \
                    --op "$wl" --size "$SIZE" --keys "$KEYS" > "$f" ||
                    log "$kind: $wl: corral-bench exited $?"
                load1=$(cut -d' ' -f1 /proc/loadavg)
                echo "$kind $name r$r loadavg_before=$load0 loadavg_after=$load1" >> "$OUT/tp-loadavg.txt"
                python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); a=d["latency"]["all"]; print("%-16s %-8s %9.0f ops/s  p50 %6.2f ms  p99 %7.2f ms  errors %d lost %d  loadavg %s" % (sys.argv[2], sys.argv[3], d["ops_per_s"], a["p50_us"]/1e3, a["p99_us"]/1e3, d["errors"], d["lost"], sys.argv[4]))' "$f" "$kind" "$wl" "$load1" >&2 || true
            done
            echo "$kind r$r rss_kb=$(rss_kb "$SPID")" >> "$OUT/tp-rss.txt"
            stop_server "$SPID"
            cat "$dir/server.log" >> "$OUT/server-$kind.log" 2>/dev/null || true
            rm -rf "$dir"
        done
    done
fi

# ---- memory and restart ----------------------------------------------------------------
if [[ ",$PHASES," == *,memory,* || ",$PHASES," == *,restart,* ]]; then
    for kind in corral-fsync zk-fsync; do
        dir=$TMP/mem-$kind
        port=$(free_port)
        start_server "$kind" "$dir" "$port"
        log "$kind (memory): pid $SPID port $port"
        wait_ready "$port" > /dev/null
        # one session and the parent first, so the idle baseline is taken warm
        bench "$port" -c 1 -p 1 -n 1 --op create --prefix /mem --size 0 --tag warm > /dev/null
        sleep 2
        if [[ $kind == zk-* ]]; then
            jcmd "$SPID" GC.run > /dev/null 2>&1 || true
            sleep 1
            jcmd "$SPID" GC.heap_info > "$OUT/mem-$kind-heap-before.txt" 2>&1 || true
        fi
        before=$(rss_kb "$SPID")
        log "$kind: loading $LOAD_ZNODES znodes of $ZNODE_BYTES bytes"
        t0=$(date +%s.%N)
        bench "$port" -c "$CONNS" -p "$PIPELINE" -n "$((LOAD_ZNODES - 1))" --op create --prefix /mem \
            --size "$ZNODE_BYTES" --tag load > "$OUT/mem-$kind-load.json"
        t1=$(date +%s.%N)
        sleep 2
        after=$(rss_kb "$SPID")
        heap=""
        if [[ $kind == zk-* ]]; then
            # live heap after a full GC (RSS of a JVM is what its collector kept)
            jcmd "$SPID" GC.run > /dev/null 2>&1 || true
            sleep 1
            jcmd "$SPID" GC.heap_info > "$OUT/mem-$kind-heap-after.txt" 2>&1 || true
            jcmd "$SPID" VM.flags > "$OUT/mem-$kind-flags.txt" 2>&1 || true
            after_gc=$(rss_kb "$SPID")
            heap=" rss_after_gc_kb=$after_gc heap_before_kb=$(heap_used_kb "$OUT/mem-$kind-heap-before.txt") heap_after_kb=$(heap_used_kb "$OUT/mem-$kind-heap-after.txt")"
        fi
        du_kb=$(du -sk "$dir/data" | awk '{print $1}')
        echo "$kind rss_before_kb=$before rss_after_kb=$after hwm_kb=$(hwm_kb "$SPID") znodes=$LOAD_ZNODES bytes=$ZNODE_BYTES load_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') data_dir_kb=$du_kb$heap" \
            | tee -a "$OUT/memory.txt" >&2

        if [[ ",$PHASES," == *,restart,* ]]; then
            for sig in KILL TERM; do
                stop_server "$SPID" "$sig"
                log "$kind: restart after SIG$sig"
                t0=$(date +%s%N)
                start_server "$kind" "$dir" "$port"
                probe=$(wait_ready "$port" /mem "$LOAD_ZNODES")
                t1=$(date +%s%N)
                sleep 1
                echo "$kind sig=$sig restart_ms=$(( (t1 - t0) / 1000000 )) rss_after_restart_kb=$(rss_kb "$SPID") probe=$probe" \
                    | tee -a "$OUT/restart.txt" >&2
            done
        fi
        stop_server "$SPID"
        cp "$dir/server.log" "$OUT/server-mem-$kind.log" 2>/dev/null || true
        rm -rf "$dir"
    done
fi

# ---- summary -----------------------------------------------------------------------------
python3 - "$OUT" <<'EOF' | tee "$OUT/summary.md"
import json, os, re, sys
out = sys.argv[1]
import glob
def load(kind, wl):
    """The median run (by ops/s) of tp-KIND-WL-r*.json, with the spread."""
    runs = []
    for p in sorted(glob.glob(os.path.join(out, "tp-%s-%s-r*.json" % (kind, wl)))):
        try:
            runs.append(json.load(open(p)))
        except Exception:
            pass
    if not runs:
        return None
    runs.sort(key=lambda d: d["ops_per_s"])
    med = dict(runs[(len(runs) - 1) // 2])
    med["spread"] = "%.0f-%.0f" % (runs[0]["ops_per_s"], runs[-1]["ops_per_s"])
    med["p99_spread"] = "%.2f-%.2f" % (min(d["latency"]["all"]["p99_us"] for d in runs) / 1e3,
                                       max(d["latency"]["all"]["p99_us"] for d in runs) / 1e3)
    med["errors"] = sum(d["errors"] for d in runs)
    med["lost"] = sum(d["lost"] for d in runs)
    med["nruns"] = len(runs)
    med["best"] = runs[-1]["ops_per_s"]
    return med
wls = [w for w in ["set", "get", "mixed90", "create"]]
pairs = [("fsync on", "corral-fsync", "zk-fsync"), ("fsync off", "corral-nofsync", "zk-nofsync")]
rows = []
for label, c, z in pairs:
    for wl in wls:
        a, b = load(c, wl), load(z, wl)
        if not a or not b:
            continue
        la, lb = a["latency"]["all"], b["latency"]["all"]
        rows.append("| %s | %s | %.0f (%s) | %.0f (%s) | %.2fx | %.2f (%s) | %.2f (%s) | %.2fx | %d / %d |" % (
            wl, label, a["ops_per_s"], a["spread"], b["ops_per_s"], b["spread"],
            a["ops_per_s"] / max(b["ops_per_s"], 1e-9),
            la["p99_us"] / 1e3, a["p99_spread"], lb["p99_us"] / 1e3, b["p99_spread"],
            lb["p99_us"] / max(la["p99_us"], 1e-9),
            a["errors"] + a["lost"], b["errors"] + b["lost"]))
if rows:
    print("Median of the runs (min-max in parentheses); p99 is the median run's.\n")
    print("| workload | durability | Corral ops/s | ZooKeeper ops/s | throughput ratio | Corral p99 ms | ZooKeeper p99 ms | p99 ratio (ZK/Corral) | errors C / ZK |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    print()
def kv(line):
    return dict(m.groups() for m in re.finditer(r"(\w+)=(\S+)", line))
mem = {}
if os.path.exists(os.path.join(out, "memory.txt")):
    for line in open(os.path.join(out, "memory.txt")):
        kind = line.split()[0]
        mem[kind] = kv(line)
if mem:
    print("| server | RSS before (MiB) | RSS after (MiB) | bytes/znode (RSS) | load time (s) | data dir (MiB) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    per = {}
    for kind, d in mem.items():
        b, a, n = int(d["rss_before_kb"]), int(d["rss_after_kb"]), int(d["znodes"])
        per[kind] = (a - b) * 1024.0 / n
        print("| %s | %.0f | %.0f | %.0f | %.1f | %.0f |" % (kind, b / 1024, a / 1024, per[kind], float(d["load_s"]), int(d["data_dir_kb"]) / 1024))
    for kind, d in mem.items():
        if "heap_after_kb" in d:
            hb, ha = int(d["heap_before_kb"]), int(d["heap_after_kb"])
            per[kind + " (live heap)"] = (ha - hb) * 1024.0 / int(d["znodes"])
            print("| %s live Java heap after full GC | %.0f | %.0f | %.0f | | |" % (kind, hb / 1024, ha / 1024, per[kind + " (live heap)"]))
    if "corral-fsync" in per and "zk-fsync" in per:
        print("\nmemory per znode: ZooKeeper / Corral = %.2fx (target 10x)" % (per["zk-fsync"] / max(per["corral-fsync"], 1e-9)))
        if "zk-fsync (live heap)" in per:
            print("memory per znode: ZooKeeper live heap / Corral RSS = %.2fx" % (per["zk-fsync (live heap)"] / max(per["corral-fsync"], 1e-9)))
    print()
rs = {}
if os.path.exists(os.path.join(out, "restart.txt")):
    for line in open(os.path.join(out, "restart.txt")):
        d = kv(line)
        rs[(line.split()[0], d["sig"])] = int(d["restart_ms"])
if rs:
    print("| restart with the loaded znodes | Corral (ms) | ZooKeeper (ms) | ratio (ZK/Corral) |")
    print("| --- | ---: | ---: | ---: |")
    for sig in ["KILL", "TERM"]:
        c, z = rs.get(("corral-fsync", sig)), rs.get(("zk-fsync", sig))
        if c is not None and z is not None:
            print("| after SIG%s | %d | %d | %.2fx |" % (sig, c, z, z / max(c, 1)))
EOF
log "results in $OUT"
