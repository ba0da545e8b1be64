#!/usr/bin/env bash
# regress/tools/deb_systemd_smoke.sh: the Debian package on a real systemd.
#
# What issue #17 asks of a fresh Debian 12 machine, done in a container:
# debootstrap a bookworm root, `apt-get install ./corral_*.deb` in it, boot
# it with systemd-nspawn (systemd as PID 1, the host's network), and check
# that corral.service is active under its hardened unit (Type=notify,
# ProtectSystem=strict, SystemCallFilter=@system-service, ...), that zkCli
# on the host talks to it, that `systemctl reload` applies a new allow list
# and that `systemctl restart` keeps the data.
#
# Not part of `make check`: it needs root, the network (debootstrap fetches
# packages) and a few minutes.  Needs debootstrap, systemd-container
# (systemd-nspawn), zookeeper (zkCli.sh) and netcat-openbsd on the host, and
# nothing listening on 127.0.0.1:2181.
#
#   regress/tools/deb_systemd_smoke.sh path/to/corral_VERSION_ARCH.deb [ROOT]
#
# ROOT (default /var/tmp/corral-deb12) is kept between runs (debootstrap is
# the slow part); remove it to start from scratch.
set -euo pipefail

deb=${1:?usage: $0 corral_VERSION_ARCH.deb [ROOT]}
root=${2:-/var/tmp/corral-deb12}
zkcli=/usr/share/zookeeper/bin/zkCli.sh
[ "$(id -u)" -eq 0 ] || { echo "$0: run as root" >&2; exit 2; }
for t in debootstrap systemd-nspawn nsenter nc; do
    command -v "$t" >/dev/null || { echo "$0: $t is not installed" >&2; exit 2; }
done
[ -x "$zkcli" ] || { echo "$0: $zkcli is missing (apt-get install zookeeper)" >&2; exit 2; }

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

if [ ! -x "$root/bin/systemctl" ]; then
    debootstrap --include=systemd,systemd-sysv,dbus bookworm "$root" http://deb.debian.org/debian
fi
cp "$deb" "$root/tmp/corral.deb"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Install as an administrator would; policy-rc.d keeps the chroot from
# trying to start the service (there is no systemd running in a chroot).
chroot "$root" /bin/sh -ec '
    printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall /tmp/corral.deb
    rm -f /usr/sbin/policy-rc.d'
ok "apt-get install ./$(basename "$deb")"

log=$(mktemp)
systemd-nspawn -D "$root" -M corral-smoke --register=no --keep-unit -b --console=pipe >"$log" 2>&1 &
nspawn=$!
leader=
cleanup() {
    [ -n "$leader" ] && nsenter -t "$leader" -a systemctl poweroff >/dev/null 2>&1 || true
    sleep 3
    kill "$nspawn" 2>/dev/null || true
    wait "$nspawn" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT

# The container's PID 1 is the child of systemd-nspawn.
for _ in $(seq 100); do
    leader=$(pgrep -P "$nspawn" | head -1 || true)
    [ -n "$leader" ] && break
    sleep 0.2
done
[ -n "$leader" ] || fail "systemd-nspawn did not start a container: $(cat "$log")"
inside() { nsenter -t "$leader" -a "$@"; }
for _ in $(seq 150); do
    state=$(inside systemctl is-system-running 2>/dev/null || true)
    case $state in running|degraded) break ;; esac
    sleep 0.2
done
ok "booted ($state)"

inside systemctl is-active --quiet corral || fail "corral.service is not active: $(inside systemctl status corral --no-pager)"
[ "$(inside systemctl show corral -p Type --value)" = notify ] || fail "corral.service is not Type=notify"
ok "corral.service active (enabled by the package, Type=notify, ready)"

out=$("$zkcli" -server 127.0.0.1:2181 create /smoke hello 2>&1 | tail -1)
[ "$out" = "Created /smoke" ] || fail "zkCli create: $out"
out=$("$zkcli" -server 127.0.0.1:2181 get /smoke 2>&1 | tail -1)
[ "$out" = hello ] || fail "zkCli get: $out"
ok "zkCli.sh create and get through 127.0.0.1:2181"

# reload: take mntr out of the allow list, then put it back.
inside sed -i 's/allow: \[ruok, srvr, stat, mntr,/allow: [ruok, srvr, stat,/' /etc/corral/corral.yaml
inside systemctl reload corral
word() { echo "$1" | nc -q1 127.0.0.1 2181 || true; }   # whole answers: grep -q would cut the pipe (pipefail)
word mntr | grep 'not in the whitelist' >/dev/null || fail "systemctl reload did not apply the allow list"
inside sed -i 's/allow: \[ruok, srvr, stat,/allow: [ruok, srvr, stat, mntr,/' /etc/corral/corral.yaml
inside systemctl reload corral
word mntr | grep '^zk_version' >/dev/null || fail "the second reload did not put mntr back"
ok "systemctl reload applies the allow list"

inside systemctl restart corral
inside systemctl is-active --quiet corral || fail "corral.service did not come back after a restart"
out=$("$zkcli" -server 127.0.0.1:2181 get /smoke 2>&1 | tail -1)
[ "$out" = hello ] || fail "after systemctl restart: $out"
"$zkcli" -server 127.0.0.1:2181 delete /smoke >/dev/null 2>&1
ok "systemctl restart keeps the data (/var/lib/corral, owned by $(inside stat -c %U /var/lib/corral))"

inside systemctl stop corral
journal=$(inside journalctl -u corral --no-pager)
grep 'exited cleanly' <<<"$journal" >/dev/null || fail "corrald did not exit cleanly"
ok "systemctl stop: corrald exited cleanly"
echo "PASS"
