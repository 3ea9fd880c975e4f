# A real two-node Slurm cluster on this machine, for tests/integration/slurm.sh
# (sourced; bash).  Everything is made under $SL (a directory of the test)
# and started by pid; cluster_down undoes it all.
#
# Layout: four network namespaces made here.  jcs<N>h holds a bridge; the
# controller (jcs<N>c, 10.213.X.1) and the nodes n1 (jcs<N>1, .11) and n2
# (jcs<N>2, .12) each have a veth into it.  No namespace has a route out:
# the cluster's traffic stays on the bridge.  Each slurmd also has a UTS
# namespace whose hostname is its node name (and slurmctld one named ctl), so slurmd finds its NodeName
# as on a real node (Debian's slurmd is not built with
# --enable-multiple-slurmd).  munged runs on a socket of its own with a key
# made here; the engine is the host's, a filesystem socket every namespace
# reaches.  The daemons run as root (SlurmUser=root).
#
# Process tracking and tasks are cgroup v1 (proctrack/cgroup, task/cgroup
# with ConstrainRAMSpace): the job's memory limit is a real cgroup that a
# container can be placed under.  Two slurmd share /sys/fs/cgroup/*/slurm/:
# their jobs' cgroups (uid_0/job_<id>) do not collide, job ids being the
# controller's, and neither slurmd removes the other's.  CPUs are not
# constrained (ConstrainCores=no): both nodes claim the same two cores.

SL_NS=jcs$$
SL_NET=10.213.$(($$ % 250)).
SL_CTLD_PORT=16817
SL_SLURMD_PORT=16818
SL_PIDS=()   # daemons started here, killed in reverse order
SL_NODES=(n1 n2)
declare -A SL_SLURMD # node -> slurmd pid

sl_say() { printf 'slurm: %s\n' "$*"; }

# sl_have: the programs this needs
sl_have() {
	local p
	for p in slurmctld slurmd sbatch scontrol scancel squeue munged ip nsenter unshare; do
		command -v "$p" >/dev/null 2>&1 || { SL_MISSING=$p; return 1; }
	done
}

# nsenter, not `ip netns exec`: that mounts a sysfs of its own over /sys,
# which hides the cgroup mounts beneath /sys/fs/cgroup from slurmd
sl_ns() { nsenter --net="/run/netns/$SL_NS$1" "${@:2}"; }
# a Slurm client command, run from the controller's namespace
sl() { SLURM_CONF=$SL/etc/slurm.conf sl_ns c "$@"; }

sl_net_up() {
	local n
	ip netns add "${SL_NS}h" || return 1
	sl_ns h ip link add br0 type bridge
	sl_ns h ip link set br0 up
	sl_ns h ip link set lo up
	for n in c 1 2; do
		ip netns add "$SL_NS$n" || return 1
		ip link add "jcs$$v$n" type veth peer name eth0 netns "$SL_NS$n" || return 1
		ip link set "jcs$$v$n" netns "${SL_NS}h"
		sl_ns h ip link set "jcs$$v$n" master br0 up
		sl_ns "$n" ip link set lo up
		sl_ns "$n" ip link set eth0 up
	done
	sl_ns c ip addr add "${SL_NET}1/24" dev eth0
	sl_ns 1 ip addr add "${SL_NET}11/24" dev eth0
	sl_ns 2 ip addr add "${SL_NET}12/24" dev eth0
}

sl_net_down() {
	local n
	for n in c 1 2 h; do ip netns del "$SL_NS$n" 2>/dev/null; done
	return 0
}

# sl_conf KILLWAIT EPILOG: slurm.conf and cgroup.conf in $SL/etc
sl_conf() {
	mkdir -p "$SL/etc" "$SL/state" "$SL/spool/n1" "$SL/spool/n2" "$SL/log"
	cat >"$SL/etc/slurm.conf" <<EOF
ClusterName=jcs
SlurmctldHost=ctl(${SL_NET}1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SL/munge/sock
SlurmctldPort=$SL_CTLD_PORT
SlurmdPort=$SL_SLURMD_PORT
StateSaveLocation=$SL/state
SlurmdSpoolDir=$SL/spool/%n
SlurmctldPidFile=$SL/slurmctld.pid
SlurmdPidFile=$SL/slurmd-%n.pid
SlurmctldLogFile=$SL/log/slurmctld.log
SlurmdLogFile=$SL/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$SL/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerNode=128
SlurmdParameters=config_overrides
ReturnToService=2
SlurmdTimeout=10
MessageTimeout=5
MinJobAge=300
KillWait=$1
Epilog=$2
MpiDefault=none
MailProg=/bin/true
NodeName=n1 NodeHostname=n1 NodeAddr=${SL_NET}11 CPUs=4 RealMemory=2048 State=UNKNOWN
NodeName=n2 NodeHostname=n2 NodeAddr=${SL_NET}12 CPUs=4 RealMemory=2048 State=UNKNOWN
PartitionName=jc Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
	cat >"$SL/etc/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
CgroupAutomount=no
ConstrainCores=no
ConstrainDevices=no
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
AllowedSwapSpace=0
EOF
}

# sl_wait WHAT SECONDS CMD...: poll CMD every 0.2 s
sl_wait() {
	local what=$1 n=$(($2 * 5)) i
	shift 2
	for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
	sl_say "$what: not within ${n}/5 s"
	return 1
}

sl_munge_up() {
	mkdir -p "$SL/munge"
	chmod 0711 "$SL/munge"
	# a key of this test's own
	head -c 1024 /dev/urandom >"$SL/munge/key"
	chmod 0400 "$SL/munge/key"
	munged -F --force --socket="$SL/munge/sock" --key-file="$SL/munge/key" \
		--pid-file="$SL/munge/pid" --log-file="$SL/log/munged.log" \
		--seed-file="$SL/munge/seed" >>"$SL/log/munged.out" 2>&1 &
	SL_PIDS+=($!)
	sl_wait munged 10 test -S "$SL/munge/sock"
}

sl_slurmd_start() { # NODE
	local node=$1 idx=${1#n}
	# nsenter, unshare and sh each exec the next: $! is slurmd's pid (not
	# through sl_ns: a function in the background is a subshell of its own)
	SLURM_CONF=$SL/etc/slurm.conf nsenter --net="/run/netns/$SL_NS$idx" unshare --uts \
		sh -c 'hostname "$1" && exec slurmd -D -N "$1" -f "$2"' sh "$node" \
		"$SL/etc/slurm.conf" >>"$SL/log/slurmd-$node.out" 2>&1 &
	SL_SLURMD[$node]=$!
	SL_PIDS+=($!)
}

sl_node_idle() { # NODE
	sl scontrol -o show node "$1" | grep -qE 'State=(IDLE|MIXED|ALLOCATED)( |$)'
}

# cluster_up KILLWAIT EPILOG
cluster_up() {
	SL=$TMP/slurm
	mkdir -p "$SL"
	sl_net_up || { sl_say "cannot make the network namespaces"; return 1; }
	sl_conf "$1" "$2"
	sl_munge_up || return 1
	SLURM_CONF=$SL/etc/slurm.conf nsenter --net="/run/netns/${SL_NS}c" unshare --uts \
		sh -c 'hostname ctl && exec slurmctld -D -i -f "$1"' sh "$SL/etc/slurm.conf" \
		>>"$SL/log/slurmctld.out" 2>&1 &
	SL_CTLD=$!
	SL_PIDS+=($!)
	sl_wait slurmctld 20 sl scontrol ping || return 1
	sl_slurmd_start n1
	sl_slurmd_start n2
	sl_wait "node n1" 30 sl_node_idle n1 || return 1
	sl_wait "node n2" 30 sl_node_idle n2 || return 1
	sl_say "cluster up: slurmctld ${SL_NET}1:$SL_CTLD_PORT, n1 ${SL_NET}11 and n2 ${SL_NET}12 (slurmd :$SL_SLURMD_PORT)"
}

# sl_kill PID: SIGTERM, then SIGKILL after 5 s; reaped
sl_kill() {
	local i
	kill -TERM "$1" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

cluster_down() {
	local i n
	[ -n "${SL:-}" ] || return 0
	# jobs first, while slurmd can still end them
	sl scancel --full --quiet -u root 2>/dev/null
	for ((i = ${#SL_PIDS[@]} - 1; i >= 0; i--)); do sl_kill "${SL_PIDS[$i]}"; done
	SL_PIDS=()
	# what is left in the namespaces made here (a slurmstepd whose slurmd
	# was killed, its job's processes) is ours
	for n in 1 2 c; do
		for i in $(ip netns pids "$SL_NS$n" 2>/dev/null); do kill -KILL "$i" 2>/dev/null; done
	done
	# slurmd leaves its empty slurm_<node> cgroup trees: rmdir removes an
	# empty cgroup only, so one still in use stays
	find /sys/fs/cgroup/*/slurm_n1 /sys/fs/cgroup/*/slurm_n2 -depth -type d \
		-exec rmdir {} + 2>/dev/null
	sl_net_down
}
