#!/usr/bin/env bash
# A lab of several "hosts" on one Linux machine, for testing DNS-SD discovery for real.
#
# Usage:
#   lab.sh up LAB N                   make hosts h1..hN of lab LAB (LAB: 1-6 of [a-z0-9])
#   lab.sh exec LAB HOST CMD...       run CMD on HOST (h1..hN) in the foreground
#   lab.sh spawn LAB HOST LOG CMD...  run CMD on HOST in the background, output to LOG;
#                                     prints its PID (ended by `down`)
#   lab.sh avahi-stop LAB HOST        stop HOST's avahi-daemon (its D-Bus stays up)
#   lab.sh avahi-start LAB HOST       (re)start HOST's avahi-daemon and wait until it is ready
#   lab.sh addr LAB HOST              print HOST's IPv4 address
#   lab.sh pids LAB                   print every live recorded process: ROLE PID, one a line
#   lab.sh down LAB                   tear the lab down (idempotent; fine after a failed `up`)
#   lab.sh down-all                   tear down every lab under /tmp/meetkit-lab, whoever made it
#   lab.sh check [faults]             exit 0 if this machine can run labs (with `faults`: and
#                                     cut, split and make links lossy), else say why
#   lab.sh cut LAB HOST HOST          cut the link between two hosts, both ways, mDNS included
#   lab.sh split LAB HOST...          cut every link between the hosts named and all the others
#   lab.sh heal LAB [HOST HOST]       restore every cut link (or the one between two hosts)
#   lab.sh loss LAB HOST PERCENT      drop PERCENT% (0-100) of the packets HOST receives; 0: none
#   lab.sh faults LAB                 print each host's cut peers and loss: "hI cut=h2,h3 loss=20"
#
# What a lab is:
#   - Network namespace LAB-br holds a bridge, br0. Each host is a network namespace LAB-hI
#     with `lo` and `eth0`, a veth whose other end (named hI) is a port of br0; eth0 has
#     10.77.0.(10+I)/24, and IPv6 is off. Every lab is its own isolated segment, so labs
#     reuse the subnet. Nothing is added to the root network namespace.
#   - Each host has its own /run: a long-lived "holder" process (`sleep infinity`) in a
#     private mount namespace where /tmp/meetkit-lab/LAB/hI/run is bind-mounted over /run.
#     Its own `dbus-daemon --system` and `avahi-daemon` (allow-interfaces=eth0, IPv4 only)
#     run there, and so does everything `exec` and `spawn` start: they enter the holder's
#     mount and network namespaces with nsenter, so Avahi's clients (avahi-browse, the
#     dns_sd compatibility library) reach that host's daemon through that host's bus.
#   - State lives in /tmp/meetkit-lab/LAB: `hosts` (N), one directory per host (config,
#     logs, run/), and pids/ROLE files holding "PID STARTTIME" for every process started
#     (ROLE: hI.holder, hI.dbus, hI.avahi, spawn.PID). The start time (field 22 of
#     /proc/PID/stat) makes sure a PID that was reused by another process is never signalled.
#   - `down` signals the recorded processes and, as a safety net, every process still inside
#     one of the lab's network namespaces; then deletes the namespaces and the state.
#   - Faults (`cut`, `split`, `heal`, `loss`) are nftables rules inside the hosts' namespaces,
#     in a table `inet lab` each host gets at its first fault: a set `cut` of peer addresses
#     whose packets are dropped on eth0 both ways, and a chain `loss` that drops a share of
#     what arrives. Deleting the namespaces (`down`) deletes the rules with them.
#
# Needs root and iproute2, util-linux (unshare, nsenter), dbus, avahi-daemon, avahi-utils; the
# faults need nftables too.
# Prints nothing but errors, except `up`'s one summary line and what `spawn`, `addr`, `pids`
# are for. See dnssd-on-linux.md (shared notes) for the measurements behind these choices.
set -euo pipefail
umask 022 # dbus-daemon drops to user messagebus, which must reach its socket directory
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

# A process started from a thread of Swift concurrency or Dispatch (a test calling Process)
# inherits that thread's signal mask, which blocks nearly every signal, SIGTERM included, and
# passes it on to everything it starts. Run again with an empty mask, so that the lab's daemons
# and commands stop on SIGTERM (cleanly, with their mDNS goodbyes), not only on SIGKILL. Bash
# cannot change its mask; perl (perl-base, essential in Debian) can.
while read -r key mask; do [[ $key == SigBlk: ]] && break; done </proc/$$/status
if [[ -z ${MEETKIT_LAB_UNBLOCKED-} && $mask =~ [^0] ]]; then
  MEETKIT_LAB_UNBLOCKED=1 exec perl -MPOSIX -e 'sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die "sigprocmask: $!\n";
                                              exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\n"' "$BASH" "$0" "$@"
fi
unset MEETKIT_LAB_UNBLOCKED

readonly LAB_ROOT=/tmp/meetkit-lab
readonly SUBNET=10.77.0
readonly MAX_HOSTS=99
readonly HOLDER_TIMEOUT=5 # seconds, for each kind of daemon to become ready
readonly DBUS_TIMEOUT=10
readonly AVAHI_TIMEOUT=20
readonly STOP_TIMEOUT=5 # seconds between SIGTERM and SIGKILL

die() {
  echo "lab.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '4,22s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# Names and paths

check_lab_name() {
  [[ $1 =~ ^[a-z0-9]{1,6}$ ]] || die "bad lab name '$1': use 1 to 6 of [a-z0-9] (interface names are short)"
}

state_dir() { echo "$LAB_ROOT/$1"; }

# The number of a host argument "hI" of lab $1, checked against the lab's size.
host_number() {
  local lab=$1 host=$2 count
  [[ $host =~ ^h([1-9][0-9]*)$ ]] || die "bad host '$host': use h1..hN"
  count=$(cat "$(state_dir "$lab")/hosts" 2>/dev/null) || die "no lab '$lab' (run: lab.sh up $lab N)"
  ((BASH_REMATCH[1] <= count)) || die "lab '$lab' has hosts h1..h$count, not $host"
  echo "${BASH_REMATCH[1]}"
}

# The lab's network namespaces that exist now: LAB-br and LAB-hI.
lab_namespaces() {
  ip netns list | awk -v lab="$1" '$1 ~ "^" lab "-(br|h[0-9]+)$" { print $1 }'
}

# ---------------------------------------------------------------------------------------------
# Processes, identified by PID and start time

# Prints the start time of process $1 (field 22 of /proc/PID/stat); fails if it is gone or a
# zombie. The command name (field 2) may hold spaces and ')', so split after the last ')'.
start_time() {
  local stat fields
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  read -r -a fields <<<"${stat##*) }" # fields[0] is field 3, the state
  [[ ${fields[0]} != [ZX] ]] || return 1
  echo "${fields[19]}"
}

# Records process $2 under role $3 in lab $1's state.
record() {
  local lab=$1 pid=$2 role=$3 start
  start=$(start_time "$pid") || return 0 # already gone: nothing to end later
  echo "$pid $start" >"$(state_dir "$lab")/pids/$role"
}

# Prints the PID recorded for role $2 of lab $1 if that very process is still alive.
recorded_pid() {
  local file pid start
  file="$(state_dir "$1")/pids/$2"
  read -r pid start 2>/dev/null <"$file" || return 1
  is_alive "$pid:$start" || return 1
  echo "$pid"
}

# The live recorded processes of lab $1, as "ROLE PID" lines.
live_records() {
  local file pid
  for file in "$(state_dir "$1")"/pids/*; do
    [[ -e $file ]] || continue
    pid=$(recorded_pid "$1" "${file##*/}") && echo "${file##*/} $pid"
  done
  return 0
}

# Whether process "PID:STARTTIME" ($1) is alive: not ended, and its PID not reused since.
is_alive() {
  local pid=${1%%:*} start=${1#*:}
  [[ $pid =~ ^[0-9]+$ && -n $start && $(start_time "$pid" 2>/dev/null) == "$start" ]]
}

all_gone() {
  local process
  for process in "$@"; do ! is_alive "$process" || return 1; done
}

# Sends TERM to the given PIDs, waits up to STOP_TIMEOUT seconds for them to go, then KILLs
# what is left (unless its PID was reused meanwhile) and waits for that too. Fails if
# something survives SIGKILL.
end_processes() {
  local pid start process processes=() left=()
  for pid in "$@"; do start=$(start_time "$pid") && processes+=("$pid:$start"); done
  ((${#processes[@]} > 0)) || return 0
  kill -TERM "${processes[@]%%:*}" 2>/dev/null || true
  wait_until "$STOP_TIMEOUT" all_gone "${processes[@]}" && return 0
  for process in "${processes[@]}"; do is_alive "$process" && left+=("$process"); done
  ((${#left[@]} > 0)) || return 0
  kill -KILL "${left[@]%%:*}" 2>/dev/null || true
  wait_until 2 all_gone "${left[@]}"
}

# Runs "$2..." every 20 ms until it succeeds (0) or $1 seconds have passed (1).
wait_until() {
  local timeout=$1 deadline
  shift
  deadline=$((${EPOCHREALTIME/./} + timeout * 1000000))
  until "$@"; do
    ((${EPOCHREALTIME/./} < deadline)) || return 1
    sleep 0.02
  done
}

# Starts "$2..." in the background with stdin from /dev/null, stdout and stderr to file $1, and
# no other file descriptor inherited from lab.sh's caller; sets LAUNCHED to its PID (everything
# on the way execs, so it stays the command's own PID). A long-lived process must not keep the
# caller's descriptors: Foundation's Process, for one, hands the child a socket and reports the
# child's exit only once every holder of that socket has closed it.
launch() {
  local log=$1
  shift
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      # 255 is bash's own (close-on-exec) descriptor of this script.
      if ((fd > 2 && fd != 255)); then exec {fd}>&-; fi
    done
    exec "$@" </dev/null >"$log" 2>&1
  ) &
  LAUNCHED=$!
}

# The holder of host $2 in lab $1: its mount and network namespaces are the host's.
holder_pid() {
  recorded_pid "$1" "h$2.holder" || die "host h$2 of lab '$1' is not running (its holder process is gone)"
}

# ---------------------------------------------------------------------------------------------
# Checks

missing_requirements() {
  local tool package problems=()
  ((EUID == 0)) || problems+=("lab.sh must run as root (it creates network and mount namespaces)")
  for tool in ip:iproute2 unshare:util-linux nsenter:util-linux mount:mount \
    dbus-daemon:dbus avahi-daemon:avahi-daemon avahi-browse:avahi-utils avahi-publish:avahi-utils; do
    package=${tool#*:}
    tool=${tool%%:*}
    command -v "$tool" >/dev/null ||
      problems+=("'$tool' is missing: install the Debian package $package")
  done
  ((${#problems[@]} == 0)) || printf 'lab.sh: %s\n' "${problems[@]}" >&2
  ((${#problems[@]} == 0))
}

# ---------------------------------------------------------------------------------------------
# Daemons of one host

# Starts host $2's holder: a private mount namespace in LAB-hI with the host's run/ over /run.
start_holder() {
  local lab=$1 i=$2 dir pid
  dir="$(state_dir "$lab")/h$i"
  # shellcheck disable=SC2016 # "$1" belongs to the inner shell
  launch "$dir/holder.log" ip netns exec "$lab-h$i" unshare --mount --propagation private \
    sh -c 'mount --bind "$1" /run && exec sleep infinity' holder "$dir/run"
  pid=$LAUNCHED
  record "$lab" "$pid" "h$i.holder"
  # ip and unshare exec in place, so $pid becomes `sleep` once /run is mounted.
  wait_until "$HOLDER_TIMEOUT" holder_ready "$pid" ||
    die "host h$i's mount namespace did not come up: $(cat "$dir/holder.log")"
}

holder_ready() { [[ $(cat "/proc/$1/comm" 2>/dev/null) == sleep ]]; }

# Starts host $2's system bus, in the foreground (--nofork) so that the recorded PID is its own.
start_dbus() {
  local lab=$1 i=$2 dir holder
  dir="$(state_dir "$lab")/h$i"
  holder=$(holder_pid "$lab" "$i")
  mkdir -p "$dir/run/dbus"
  rm -f "$dir/run/dbus/pid" "$dir/run/dbus/system_bus_socket" # a stale pid file stops dbus
  launch "$dir/dbus.log" nsenter -t "$holder" -m -n -- "$(command -v dbus-daemon)" --system --nofork --nopidfile
  record "$lab" "$LAUNCHED" "h$i.dbus"
}

dbus_ready() { [[ -S "$(state_dir "$1")/h$2/run/dbus/system_bus_socket" ]]; }

write_avahi_config() {
  local lab=$1 i=$2
  cat >"$(state_dir "$lab")/h$i/avahi-daemon.conf" <<EOF
# Written by lab.sh for host h$i of lab $lab.
[server]
host-name=$lab-h$i
use-ipv4=yes
use-ipv6=no
allow-interfaces=eth0
enable-dbus=yes

[wide-area]
enable-wide-area=no

[publish]
publish-hinfo=no
publish-workstation=no
EOF
}

# Starts host $2's avahi-daemon, in the foreground (no -D) so that the recorded PID is its own;
# it logs to avahi.log.
start_avahi() {
  local lab=$1 i=$2 dir holder
  dir="$(state_dir "$lab")/h$i"
  holder=$(holder_pid "$lab" "$i")
  rm -f "$dir/run/avahi-daemon/pid" # a stale pid file makes avahi think it is running
  launch "$dir/avahi.log" nsenter -t "$holder" -m -n -- "$(command -v avahi-daemon)" \
    -f "$dir/avahi-daemon.conf" --no-chroot --no-drop-root --no-rlimits --no-proc-title
  record "$lab" "$LAUNCHED" "h$i.avahi"
}

avahi_ready() { grep -q 'Server startup complete' "$(state_dir "$1")/h$2/avahi.log" 2>/dev/null; }

# Waits for host $2's avahi-daemon to finish starting; on failure shows why.
wait_for_avahi() {
  local lab=$1 i=$2 log
  log="$(state_dir "$lab")/h$i/avahi.log"
  wait_until "$AVAHI_TIMEOUT" avahi_ready_or_dead "$lab" "$i" || true
  avahi_ready "$lab" "$i" && return 0
  if recorded_pid "$lab" "h$i.avahi" >/dev/null; then
    die "avahi-daemon on h$i did not report 'Server startup complete' within ${AVAHI_TIMEOUT}s; its log:"$'\n'"$(tail -n 20 "$log")"
  fi
  die "avahi-daemon on h$i exited while starting; its log:"$'\n'"$(tail -n 20 "$log")"
}

avahi_ready_or_dead() { avahi_ready "$1" "$2" || ! recorded_pid "$1" "h$2.avahi" >/dev/null; }

stop_avahi() {
  local lab=$1 i=$2 pid
  if pid=$(recorded_pid "$lab" "h$i.avahi"); then
    end_processes "$pid" || die "avahi-daemon on h$i (PID $pid) did not stop"
  fi
  rm -f "$(state_dir "$lab")/pids/h$i.avahi" "$(state_dir "$lab")/h$i/run/avahi-daemon/pid"
}

# ---------------------------------------------------------------------------------------------
# Subcommands

cmd_up() {
  (($# == 2)) || usage
  local lab=$1 count=$2 dir i started
  check_lab_name "$lab"
  if ! [[ $count =~ ^[1-9][0-9]*$ ]] || ((count > MAX_HOSTS)); then
    die "bad host count '$count': use 1..$MAX_HOSTS"
  fi
  missing_requirements || exit 1
  started=${EPOCHREALTIME/./}
  dir=$(state_dir "$lab")
  [[ -z $(lab_namespaces "$lab") ]] || die "network namespaces of a lab '$lab' exist already (lab.sh down $lab)"
  mkdir -p "$LAB_ROOT"
  # mkdir (without -p) claims the name atomically, so two `up`s cannot share a lab.
  if ! mkdir "$dir" 2>/dev/null; then
    [[ -e $dir ]] && die "lab '$lab' exists already (lab.sh down $lab)"
    die "cannot create $dir"
  fi
  # From here on, a failure (or Ctrl-C) takes down whatever was made.
  # shellcheck disable=SC2064 # the name is fixed now
  trap "after_failed_up $lab" EXIT
  trap 'exit 130' INT TERM
  mkdir "$dir/pids"
  echo "$count" >"$dir/hosts"

  # The network: a bridge namespace, and per host a namespace with eth0 plugged into br0.
  ip netns add "$lab-br"
  disable_ipv6 "$lab-br"
  ip -n "$lab-br" link add br0 type bridge mcast_snooping 0
  ip -n "$lab-br" link set br0 up
  for ((i = 1; i <= count; i++)); do
    mkdir -p "$dir/h$i/run"
    ip netns add "$lab-h$i"
    disable_ipv6 "$lab-h$i"
    ip -n "$lab-h$i" link add eth0 type veth peer name "h$i" netns "$lab-br"
    ip -n "$lab-br" link set "h$i" master br0 up
    ip -n "$lab-h$i" link set lo up
    ip -n "$lab-h$i" addr add "$SUBNET.$((10 + i))/24" dev eth0
    ip -n "$lab-h$i" link set eth0 up
  done

  # The daemons, each kind started on all hosts before waiting for any of them.
  for ((i = 1; i <= count; i++)); do start_holder "$lab" "$i"; done
  for ((i = 1; i <= count; i++)); do start_dbus "$lab" "$i"; done
  for ((i = 1; i <= count; i++)); do
    wait_until "$DBUS_TIMEOUT" dbus_ready "$lab" "$i" ||
      die "the D-Bus system bus of h$i did not come up; its log:"$'\n'"$(tail -n 20 "$dir/h$i/dbus.log")"
  done
  for ((i = 1; i <= count; i++)); do
    write_avahi_config "$lab" "$i"
    start_avahi "$lab" "$i"
  done
  for ((i = 1; i <= count; i++)); do wait_for_avahi "$lab" "$i"; done

  trap - EXIT INT TERM
  local elapsed=$(((${EPOCHREALTIME/./} - started) / 1000))
  echo "lab $lab: hosts h1..h$count up on $SUBNET.0/24 in ${elapsed} ms"
}

# The EXIT trap of `up`: unless it succeeded, tears down what it made.
after_failed_up() {
  local status=$?
  ((status != 0)) || return 0
  echo "lab.sh: up failed; tearing lab $1 down" >&2
  teardown "$1" || true
}

# Turns IPv6 off in namespace $1 before its interfaces exist, so that no IPv6 traffic
# (link-local addresses, duplicate address detection, MLD) adds noise or delay.
disable_ipv6() {
  [[ -d /proc/sys/net/ipv6 ]] || return 0
  ip netns exec "$1" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 &&
                            echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6'
}

cmd_exec() {
  (($# >= 3)) || usage
  local lab=$1 i holder
  check_lab_name "$lab"
  i=$(host_number "$lab" "$2")
  holder=$(holder_pid "$lab" "$i")
  shift 2
  # nsenter would start in /: --wdns enters the caller's directory as seen inside the host.
  # Unlike `spawn`, the command keeps every descriptor of the caller, as a child would.
  exec nsenter -t "$holder" -m -n --wdns="$PWD" -- "$@"
}

cmd_spawn() {
  (($# >= 4)) || usage
  local lab=$1 i holder log=$3 pid
  check_lab_name "$lab"
  i=$(host_number "$lab" "$2")
  holder=$(holder_pid "$lab" "$i")
  shift 3
  : >"$log" || die "cannot write the log file '$log'"
  launch "$log" nsenter -t "$holder" -m -n --wdns="$PWD" -- "$@"
  pid=$LAUNCHED
  record "$lab" "$pid" "spawn.$pid"
  echo "$pid"
}

cmd_avahi_stop() {
  (($# == 2)) || usage
  local lab=$1 i
  check_lab_name "$lab"
  i=$(host_number "$lab" "$2")
  stop_avahi "$lab" "$i"
}

cmd_avahi_start() {
  (($# == 2)) || usage
  local lab=$1 i
  check_lab_name "$lab"
  i=$(host_number "$lab" "$2")
  stop_avahi "$lab" "$i" # a restart if it runs
  start_avahi "$lab" "$i"
  wait_for_avahi "$lab" "$i"
}

cmd_addr() {
  (($# == 2)) || usage
  local lab=$1 i address
  check_lab_name "$lab"
  i=$(host_number "$lab" "$2")
  address=$(ip -n "$lab-h$i" -4 -o addr show dev eth0 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
  [[ -n $address ]] || die "host $2 of lab '$lab' has no IPv4 address"
  echo "$address"
}

cmd_pids() {
  (($# == 1)) || usage
  check_lab_name "$1"
  [[ -d $(state_dir "$1") ]] || die "no lab '$1'"
  live_records "$1"
}

cmd_down() {
  (($# == 1)) || usage
  check_lab_name "$1"
  teardown "$1"
}

cmd_down_all() {
  (($# == 0)) || usage
  local dir lab failed=0
  for dir in "$LAB_ROOT"/*/; do
    [[ -d $dir ]] || continue
    lab=$(basename "$dir")
    if [[ $lab =~ ^[a-z0-9]{1,6}$ ]]; then
      teardown "$lab" || failed=1
    else
      echo "lab.sh: $dir is not a lab's state: left alone" >&2
    fi
  done
  return "$failed"
}

cmd_check() {
  (($# == 0)) || [[ $# == 1 && $1 == faults ]] || usage
  missing_requirements || return 1
  (($# == 0)) || faults_work
}

# ---------------------------------------------------------------------------------------------
# Faults: nftables rules inside the hosts' network namespaces
#
# A cut drops, on both hosts, every packet on eth0 from the other host's address (input) and
# to it (output). Multicast is cut with it, deliberately: an mDNS packet carries its sender's
# own address, so each host's input rule drops the other's announcements and answers. That is
# what a real partition looks like (two Wi-Fi networks, or a phone out of the hall's range):
# nothing of a member crosses, not even its adverts, while the members on either side still
# see each other. ARP is left alone (another nftables family): it carries no member traffic,
# and a cut host's neighbour entry stays warm for the heal.
#
# Loss drops PERCENT% of the packets arriving on eth0 (unicast and multicast), chosen with
# `numgen random`; with the same loss on every host, each packet between two hosts is lost
# with that probability (a packet passes one input chain, its receiver's).

# Runs nft in host $2's network namespace (the rules need no mount namespace).
host_nft() {
  local lab=$1 i=$2
  shift 2
  ip netns exec "$lab-h$i" nft "$@"
}

# Creates the fault table of host $2 unless it exists: no cut, no loss.
ensure_fault_table() {
  local lab=$1 i=$2
  host_nft "$lab" "$i" list table inet lab >/dev/null 2>&1 && return 0
  command -v nft >/dev/null || die "'nft' is missing: install the Debian package nftables"
  host_nft "$lab" "$i" -f - <<RULES || die "cannot create the nftables table of h$i"
table inet lab {
  set cut { type ipv4_addr; }
  chain loss { }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "eth0" ip saddr @cut drop
    iifname "eth0" jump loss
  }
  chain output {
    type filter hook output priority filter; policy accept;
    oifname "eth0" ip daddr @cut drop
  }
}
RULES
}

# Whether nftables rules can be made in a network namespace here (a throwaway one).
faults_work() {
  local ns="labcheck-$$"
  if ! command -v nft >/dev/null; then
    echo "lab.sh: 'nft' is missing: install the Debian package nftables" >&2
    return 1
  fi
  ip netns add "$ns" || return 1
  if ! ip netns exec "$ns" nft add table inet lab 2>/dev/null; then
    ip netns delete "$ns"
    echo "lab.sh: nftables rules cannot be made in a network namespace (no nf_tables in the kernel?)" >&2
    return 1
  fi
  ip netns delete "$ns"
}

host_address() { echo "$SUBNET.$((10 + $1))"; }

# Cuts (or, with $1 = heal, restores) the link between hosts $3 and $4 of lab $2, on both.
set_link() {
  local action=$1 lab=$2 a=$3 b=$4 self peer element
  ((a != b)) || die "h$a cannot be cut from itself"
  for self in "$a" "$b"; do
    peer=$((self == a ? b : a))
    element="{ $(host_address "$peer") }"
    ensure_fault_table "$lab" "$self"
    if [[ $action == cut ]]; then
      host_nft "$lab" "$self" add element inet lab cut "$element"
    elif host_nft "$lab" "$self" get element inet lab cut "$element" >/dev/null 2>&1; then
      host_nft "$lab" "$self" delete element inet lab cut "$element"
    fi
  done
}

cmd_cut() {
  (($# == 3)) || usage
  local lab=$1 a b
  check_lab_name "$lab"
  a=$(host_number "$lab" "$2")
  b=$(host_number "$lab" "$3")
  set_link cut "$lab" "$a" "$b"
}

cmd_split() {
  (($# >= 2)) || usage
  local lab=$1 count host i j
  local -A side=()
  check_lab_name "$lab"
  shift
  for host in "$@"; do
    i=$(host_number "$lab" "$host")
    side[$i]=1
  done
  count=$(cat "$(state_dir "$lab")/hosts")
  ((${#side[@]} < count)) || die "a split needs a host on the other side too"
  for i in "${!side[@]}"; do
    for ((j = 1; j <= count; j++)); do
      [[ -n ${side[$j]-} ]] || set_link cut "$lab" "$i" "$j"
    done
  done
}

cmd_heal() {
  (($# == 1 || $# == 3)) || usage
  local lab=$1 count a b i
  check_lab_name "$lab"
  if (($# == 3)); then
    a=$(host_number "$lab" "$2")
    b=$(host_number "$lab" "$3")
    set_link heal "$lab" "$a" "$b"
    return
  fi
  count=$(cat "$(state_dir "$lab")/hosts" 2>/dev/null) || die "no lab '$lab'"
  for ((i = 1; i <= count; i++)); do
    if host_nft "$lab" "$i" list table inet lab >/dev/null 2>&1; then
      host_nft "$lab" "$i" flush set inet lab cut
    fi
  done
}

cmd_loss() {
  (($# == 3)) || usage
  local lab=$1 i percent=$3
  check_lab_name "$lab"
  i=$(host_number "$lab" "$2")
  [[ $percent =~ ^(100|[1-9]?[0-9])$ ]] || die "bad loss '$percent': use a percentage, 0-100"
  ensure_fault_table "$lab" "$i"
  host_nft "$lab" "$i" flush chain inet lab loss
  ((percent == 0)) || host_nft "$lab" "$i" add rule inet lab loss numgen random mod 100 "<" "$percent" drop
}

cmd_faults() {
  (($# == 1)) || usage
  local lab=$1 count i listing address cut loss
  check_lab_name "$lab"
  count=$(cat "$(state_dir "$lab")/hosts" 2>/dev/null) || die "no lab '$lab'"
  for ((i = 1; i <= count; i++)); do
    cut="" loss=0
    if listing=$(host_nft "$lab" "$i" list table inet lab 2>/dev/null); then
      # "elements = { 10.77.0.12, 10.77.0.13 }" in the set; "numgen random mod 100 < 20 drop".
      while read -r address; do
        cut+="${cut:+,}h$((${address##*.} - 10))"
      done < <(sed -n '/elements/,/}/p' <<<"$listing" | grep -o "$SUBNET\.[0-9]*" | sort -t. -k4 -n)
      [[ $listing =~ numgen\ random\ mod\ 100\ \<\ ([0-9]+) ]] && loss=${BASH_REMATCH[1]}
    fi
    echo "h$i cut=$cut loss=$loss"
  done
}

# Ends every process of lab $1, deletes its namespaces and its state. Safe to repeat, and
# after an `up` that stopped anywhere.
teardown() {
  local lab=$1 ns pids failed=0
  # The recorded processes (those still alive as recorded), and anything else still running
  # inside the lab's network namespaces: children of spawned commands, commands from `exec`.
  mapfile -t pids < <(
    {
      live_records "$lab" | awk '{ print $2 }'
      for ns in $(lab_namespaces "$lab"); do ip netns pids "$ns"; done
    } 2>/dev/null | sort -un
  )
  if ! end_processes "${pids[@]}"; then
    echo "lab.sh: some processes of lab $lab did not end" >&2
    failed=1
  fi
  for ns in $(lab_namespaces "$lab"); do
    ip netns delete "$ns" || failed=1
  done
  # --one-file-system: never follow into a mount, should one ever be left under the state.
  rm -rf --one-file-system -- "${LAB_ROOT:?}/$lab" || failed=1
  return "$failed"
}

# ---------------------------------------------------------------------------------------------

(($# > 0)) || usage
command=$1
shift
case $command in
up) cmd_up "$@" ;;
exec) cmd_exec "$@" ;;
spawn) cmd_spawn "$@" ;;
avahi-stop) cmd_avahi_stop "$@" ;;
avahi-start) cmd_avahi_start "$@" ;;
addr) cmd_addr "$@" ;;
pids) cmd_pids "$@" ;;
down) cmd_down "$@" ;;
down-all) cmd_down_all "$@" ;;
check) cmd_check "$@" ;;
cut) cmd_cut "$@" ;;
split) cmd_split "$@" ;;
heal) cmd_heal "$@" ;;
loss) cmd_loss "$@" ;;
faults) cmd_faults "$@" ;;
-h | --help | help) usage ;;
*)
  echo "lab.sh: unknown command '$command'" >&2
  usage
  ;;
esac
