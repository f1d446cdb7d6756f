#!/usr/bin/env bash
# A one-node SLURM on THIS machine, to check consum's cluster path (sweeps through submitit_slurm,
# scripts/slurm/stage.sbatch, preemption and requeue) where no cluster is at hand. Not for production:
# one node, no accounting, no cgroups, every job runs as the submitting user on this machine's cores.
#
#   scripts/slurm/cluster.sh up       # (make cluster-up)   install if missing, configure, start, wait for idle
#   scripts/slurm/cluster.sh down     # (make cluster-down) cancel our jobs, stop the daemons `up` started
#   scripts/slurm/cluster.sh status   # which of our daemons run, and what sinfo says
#
# `up` needs root (apt-get, daemons) and apt-get when slurm-wlm/munge are missing (Debian/Ubuntu). It writes
# /etc/slurm/slurm.conf (marked as ours; it refuses to overwrite a slurm.conf it did not write) and keeps
# state, logs and pid files in $CONSUM_SLURM_DIR (default /var/lib/consum-slurm). Both commands are
# idempotent: `up` starts only what is not running, `down` stops only the daemons whose pid files `up`
# wrote (a munged that was already running stays). Installed packages and the config stay after `down`.
set -euo pipefail

STATE_DIR="${CONSUM_SLURM_DIR:-/var/lib/consum-slurm}"  # slurmctld state, slurmd spool, pid files, logs
CONF="${SLURM_CONF:-/etc/slurm/slurm.conf}"              # where sinfo/sbatch look by default
MARKER="# written by consum scripts/slurm/cluster.sh"    # first line of a slurm.conf we may rewrite
PARTITION="${CONSUM_SLURM_PARTITION:-debug}"             # the one partition (the default for sbatch)
NODE="$(hostname -s)"                                    # slurmd finds its NodeName by the short hostname
STARTED="$STATE_DIR/started"                             # one line per daemon `up` started: name pidfile
MUNGE_PID=/run/munge/munged.pid                          # munged's default; slurm uses its default socket
WAIT_S="${CONSUM_SLURM_WAIT_S:-60}"                      # how long `up` waits for the node to be idle

die() { echo "cluster.sh: $*" >&2; exit 1; }
say() { echo "cluster.sh: $*"; }

alive() {  # alive <pidfile> <process name>: the pid file names a running process of that name
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]]
}

need_root() {
  [[ "$(id -u)" == 0 ]] || die "refusing: needs root (apt-get install, munged/slurmctld/slurmd as root). \
Run it as root, e.g. sudo make cluster-up. It is for checking the cluster path on one machine, not for production."
}

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
     && command -v sbatch >/dev/null; then
    return
  fi
  command -v apt-get >/dev/null || die "refusing: slurm-wlm/munge are not installed and there is no apt-get \
here to install them (install slurmctld, slurmd, the slurm client commands and munge yourself, then rerun)"
  say "installing slurm-wlm and munge with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d in containers stops the packages' services from starting; we start the daemons ourselves
  if ! apt-get install -y --no-install-recommends slurm-wlm munge; then
    apt-get update && apt-get install -y --no-install-recommends slurm-wlm munge \
      || die "apt-get could not install slurm-wlm munge"
  fi
}

write_config() {
  local cpus mem_mb conf_text
  cpus="$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)"  # nproc obeys OMP_NUM_THREADS (1 in test runs)
  # slurmd drains a node whose RealMemory is above what it finds: leave 10% for the OS
  mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 9 / 10 / 1024 ))
  if [[ -f "$CONF" ]] && [[ "$(head -n 1 "$CONF")" != "$MARKER" ]]; then
    die "refusing: $CONF exists and was not written by this script (a real cluster's config?); \
move it away or set SLURM_CONF to another path"
  fi
  mkdir -p "$(dirname "$CONF")" "$STATE_DIR/ctld" "$STATE_DIR/spool" "$STATE_DIR/log"
  conf_text="$MARKER
# One node ($NODE, $cpus CPUs, ${mem_mb} MB), one partition; for checking consum's cluster path only.
ClusterName=consum-local
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# a requeued job waits cred_expire+1 s before it may start again (SLURM's default 120 s); 10 s here
AuthInfo=cred_expire=10
# linuxproc + task/none: no cgroups needed (containers, VMs without cgroup delegation)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# requeue allowed (stage.sbatch asks for it; a preempted training stage requeues itself)
JobRequeue=1
# seconds between SIGTERM and SIGKILL at a time limit or scancel (SLURM's default)
KillWait=30
# finished jobs stay visible to scontrol show job for 10 minutes (tests read Restarts= there)
MinJobAge=600
StateSaveLocation=$STATE_DIR/ctld
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$STATE_DIR/log/slurmctld.log
SlurmdLogFile=$STATE_DIR/log/slurmd.log
NodeName=$NODE CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP"
  if [[ ! -f "$CONF" ]] || [[ "$(cat "$CONF")" != "$conf_text" ]]; then
    printf '%s\n' "$conf_text" > "$CONF"
    say "wrote $CONF"
    CONF_CHANGED=1
  fi
}

restart_if_reconfigured() {  # daemons of ours that run with an older slurm.conf: restart them
  local name
  [[ "${CONF_CHANGED:-0}" == 1 ]] || return 0
  for name in slurmd slurmctld; do
    if alive "$STATE_DIR/$name.pid" "$name"; then
      say "slurm.conf changed: restarting $name"
      stop_pidfile "$name" "$STATE_DIR/$name.pid"
    fi
  done
}

ensure_munge_key() {
  if [[ ! -s /etc/munge/munge.key ]]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    say "made a munge key /etc/munge/munge.key"
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key
  chmod 0700 /etc/munge
  chmod 0400 /etc/munge/munge.key
}

record_started() { grep -qx "$1 $2" "$STARTED" 2>/dev/null || echo "$1 $2" >> "$STARTED"; }

start_munged() {
  if alive "$MUNGE_PID" munged; then
    say "munged already running (pid $(cat "$MUNGE_PID"))"
    return
  fi
  ensure_munge_key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- munged --pid-file="$MUNGE_PID"
  wait_for_pidfile "$MUNGE_PID" munged
  record_started munged "$MUNGE_PID"
  say "started munged (pid $(cat "$MUNGE_PID"))"
}

start_daemon() {  # start_daemon <name>: slurmctld or slurmd, pid file from slurm.conf
  local name="$1" pidfile="$STATE_DIR/$1.pid"
  if alive "$pidfile" "$name"; then
    say "$name already running (pid $(cat "$pidfile"))"
    return
  fi
  if pgrep -x "$name" >/dev/null; then
    die "refusing: a $name not started by this script is running (pid $(pgrep -x "$name" | tr '\n' ' '))"
  fi
  "$name" -f "$CONF"
  wait_for_pidfile "$pidfile" "$name"
  record_started "$name" "$pidfile"
  say "started $name (pid $(cat "$pidfile"))"
}

wait_for_pidfile() {
  local i
  for i in $(seq 1 50); do
    alive "$1" "$2" && return
    sleep 0.2
  done
  die "$2 did not start (no live pid in $1); see $STATE_DIR/log/ and /var/log/munge/"
}

wait_idle() {
  local i state=""
  for i in $(seq 1 "$WAIT_S"); do
    state="$(sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n 1 || true)"
    case "$state" in
      idle|mixed|allocated|completing) say "node $NODE is $state: sinfo says"; sinfo; return ;;
      down*|drain*|drained*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  die "node $NODE is not idle after ${WAIT_S}s (state '${state}'); see $STATE_DIR/log/"
}

up() {
  need_root
  install_packages
  write_config
  touch "$STARTED"
  restart_if_reconfigured
  start_munged
  start_daemon slurmctld
  start_daemon slurmd
  wait_idle
}

stop_pidfile() {  # stop_pidfile <name> <pidfile>: SIGTERM, wait up to 30 s, then SIGKILL
  local name="$1" pidfile="$2" pid i
  if ! alive "$pidfile" "$name"; then
    say "$name not running"
    return
  fi
  pid="$(cat "$pidfile")"
  kill "$pid"
  for i in $(seq 1 150); do
    [[ -d "/proc/$pid" ]] || { say "stopped $name (pid $pid)"; rm -f "$pidfile"; return; }
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  say "killed $name (pid $pid) after 30 s"
}

cancel_jobs() {  # jobs left on our partition would keep their slurmstepd running after slurmd stops
  local i
  alive "$STATE_DIR/slurmctld.pid" slurmctld || return 0
  [[ -n "$(squeue -h -p "$PARTITION" -o %i 2>/dev/null)" ]] || return 0
  say "cancelling the jobs still on partition $PARTITION"
  scancel -p "$PARTITION" || true
  for i in $(seq 1 60); do
    [[ -z "$(squeue -h -p "$PARTITION" -t RUNNING,COMPLETING,PENDING,CONFIGURING -o %i 2>/dev/null)" ]] \
      && ! pgrep -x slurmstepd >/dev/null && return 0
    sleep 1
  done
  say "jobs still listed after 60 s: $(squeue -h -p "$PARTITION" -o '%i %T' | tr '\n' ' ')"
}

down() {
  need_root
  if [[ ! -s "$STARTED" ]]; then
    say "nothing to stop (no daemon started by cluster.sh up)"
    return
  fi
  cancel_jobs
  # reverse start order: slurmd, slurmctld, munged
  tac "$STARTED" | while read -r name pidfile; do stop_pidfile "$name" "$pidfile"; done
  rm -f "$STARTED"
}

status() {
  local name pidfile
  if [[ -s "$STARTED" ]]; then
    while read -r name pidfile; do
      if alive "$pidfile" "$name"; then say "$name running (pid $(cat "$pidfile"))"; else say "$name not running"; fi
    done < "$STARTED"
  else
    say "no daemon started by cluster.sh up"
  fi
  sinfo 2>/dev/null || say "sinfo does not answer"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
