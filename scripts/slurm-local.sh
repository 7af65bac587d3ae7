#!/usr/bin/env bash
# A one-node Slurm on this machine for tests, CI and benchmarks: `scripts/slurm-local.sh start|stop|status DIR`.
#
# start: writes DIR/etc/slurm.conf and gres.conf (node `localhost`: all of `nproc`'s CPUs, /proc/meminfo's memory less
#        a margin, two fake GPUs backed by DIR/dev/fakegpu0..1; cons_tres with CR_Core_Memory, so CPUs, memory and GPUs
#        are really allocated), starts a munged of its own (socket under DIR; /etc/munge/munge.key is made with
#        `mungekey -c` if absent), slurmctld and slurmd, waits until `sinfo` shows the node idle, and prints the
#        SLURM_CONF path (clients: `export SLURM_CONF=$(scripts/slurm-local.sh start DIR)`). Idempotent: a running
#        cluster in DIR is left as is and its path printed again.
# stop:  ends what `start` started in DIR (by the pid files under DIR/run), leaving DIR's files.
# status: exit 0 when the cluster in DIR answers.
#
# DIR's ancestors must be enterable by the accounts jobs run as (their srun talks to the munged socket under DIR).
# Must run as root (SlurmUser=root; jobs still run as the users they are submitted for). Two clusters in two DIRs can
# run side by side: each picks free ports and has its own munged. Accounting: none (no slurmdbd, so no `sacct`);
# finished jobs stay in `squeue --states=all`/`scontrol show job` for MinJobAge, and jobcomp/filetxt keeps a line
# per finished job in DIR/log/jobcomp.txt. Output is quiet: only the path on stdout; errors on stderr.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(realpath -m -- "$2")
conf=$dir/etc/slurm.conf
export SLURM_CONF=$conf

die() { echo "slurm-local: $*" >&2; exit 1; }

pid_alive() { # pidfile → 0 if the process named in it runs
  local pid
  [ -s "$1" ] && read -r pid < "$1" && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

stop_pidfile() { # pidfile: TERM, wait up to 10 s, then KILL
  local pid i
  [ -s "$1" ] && read -r pid < "$1" || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

answers() { pid_alive "$dir/run/slurmctld.pid" && pid_alive "$dir/run/slurmd.pid" && timeout 5 sinfo -h -o %t >/dev/null 2>&1; }

port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

case $action in
  stop)
    # Jobs first, while the daemons can still end them; then the daemons.
    if answers; then
      jobs=$(timeout 5 squeue -h -o %i 2>/dev/null || true)
      if [ -n "$jobs" ]; then
        scancel --full --signal=KILL $jobs 2>/dev/null || true
        scancel $jobs 2>/dev/null || true
      fi
      for _ in $(seq 50); do [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1; done
    fi
    stop_pidfile "$dir/run/slurmd.pid"
    stop_pidfile "$dir/run/slurmctld.pid"
    # A step daemon that outlived slurmd: only those with a file of this cluster's spool open.
    for pid in $(pgrep -x slurmstepd || true); do
      if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q -- "$dir/"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    stop_pidfile "$dir/run/munged.pid"
    exit 0
    ;;
  status)
    answers
    exit $?
    ;;
  start) ;;
  *) usage ;;
esac

[ "$(id -u)" = 0 ] || die "must run as root (SlurmUser=root)"
for tool in slurmctld slurmd sinfo munged; do command -v "$tool" >/dev/null || die "$tool is missing: apt-get install -y slurm-wlm munge"; done

if answers; then
  echo "$conf"
  exit 0
fi

mkdir -p "$dir"/{etc,state,spool,log,run,dev,munge}
chmod 755 "$dir" "$dir/etc"
chmod 700 "$dir/state"
chmod 755 "$dir/munge"

# Munge: this cluster's own daemon and socket, the machine's key.
if [ ! -s /etc/munge/munge.key ]; then
  mungekey -c -k /etc/munge/munge.key >/dev/null 2>&1 || die "mungekey -c failed"
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
fi
munge_socket=$dir/munge/munge.socket
if ! pid_alive "$dir/run/munged.pid"; then
  rm -f "$munge_socket" "$munge_socket.lock"
  munged --force --socket="$munge_socket" --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/state/munged.seed" --key-file=/etc/munge/munge.key 2>>"$dir/log/munged.log" ||
    die "munged did not start; see $dir/log/munged.log"
fi

# Ports: kept from an earlier start of this DIR, else the first free pair from 6817.
ctld_port=$(sed -n 's/^SlurmctldPort=//p' "$conf" 2>/dev/null || true)
slurmd_port=$(sed -n 's/^SlurmdPort=//p' "$conf" 2>/dev/null || true)
if [ -z "$ctld_port" ] || [ -z "$slurmd_port" ] || ! port_free "$ctld_port" || ! port_free "$slurmd_port"; then
  ctld_port=6817
  while ! port_free "$ctld_port" || ! port_free $((ctld_port + 1)); do
    ctld_port=$((ctld_port + 2))
    [ "$ctld_port" -lt 7817 ] || die "no free port pair from 6817 to 7817"
  done
  slurmd_port=$((ctld_port + 1))
fi

cpus=$(nproc)
mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
# The margin: 5% (at least 256 MiB) stays with the system, so slurmd never finds less memory than configured.
margin=$((mem_mb / 20)); [ "$margin" -ge 256 ] || margin=256
real_mem=$((mem_mb - margin))
gpus=2
# slurmd wants character devices: each fake GPU is a node with /dev/null's numbers (nothing opens them).
for i in $(seq 0 $((gpus - 1))); do
  [ -c "$dir/dev/fakegpu$i" ] || { rm -f "$dir/dev/fakegpu$i"; mknod -m 666 "$dir/dev/fakegpu$i" c 1 3; } || die "mknod $dir/dev/fakegpu$i failed"
done

cat > "$conf.tmp" <<EOF
# Written by scripts/slurm-local.sh: a one-node cluster for tests. Regenerated on each start.
ClusterName=switchyard-local
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
# Fast turnaround for tests: FIFO, no delay for batch jobs. (slurmctld still schedules on its ~1 s background tick.)
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,default_queue_depth=100
MessageTimeout=10
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=600
MaxJobCount=100000
DefMemPerCPU=256
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$cpus RealMemory=$real_mem Gres=gpu:fake:$gpus State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
mv -f "$conf.tmp" "$conf"
cat > "$dir/etc/gres.conf" <<EOF
# Fake GPUs: plain files stand in for /dev/nvidia*; Slurm allocates them and sets CUDA_VISIBLE_DEVICES.
NodeName=localhost Name=gpu Type=fake File=$dir/dev/fakegpu[0-$((gpus - 1))]
EOF
chmod 644 "$conf" "$dir/etc/gres.conf"

if ! pid_alive "$dir/run/slurmctld.pid"; then
  # -i: ignore state left by an earlier cluster in DIR that cannot be recovered (a changed config).
  slurmctld -f "$conf" -i >>"$dir/log/slurmctld.out" 2>&1 || die "slurmctld did not start; see $dir/log/slurmctld.log"
fi
if ! pid_alive "$dir/run/slurmd.pid"; then
  slurmd -f "$conf" -N localhost >>"$dir/log/slurmd.out" 2>&1 || die "slurmd did not start; see $dir/log/slurmd.log"
fi

# Ready when the node is idle (or already running jobs, on a restart); 60 s at most.
deadline=$(($(date +%s) + 60))
while [ "$(date +%s)" -lt "$deadline" ]; do
  for d in slurmctld slurmd; do
    # A daemon writes its pid file once it has forked; one that wrote it and is gone has failed.
    if [ -s "$dir/run/$d.pid" ] && ! pid_alive "$dir/run/$d.pid"; then
      die "$d exited: $(grep fatal "$dir/log/$d.log" | tail -n 1); see $dir/log/$d.log"
    fi
  done
  state=$(timeout 2 sinfo -h -n localhost -o %t 2>/dev/null || true)
  case $state in
    idle | mix | mixed | alloc | allocated) echo "$conf"; exit 0 ;;
    drain* | down*) scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1 || true ;;
  esac
  sleep 0.1
done
die "the node did not become idle within 60 s (state: ${state:-no answer}); see $dir/log/slurmctld.log and $dir/log/slurmd.log"
