# Shell helpers shared by servers.sh, logins.sh, sge.sh and compat.sh: where
# their state lives, logging, and starting, probing and stopping daemons by
# PID file. The sourcing script calls use_state_dirs before the rest.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${CERULEAN_TEST_STATE:-$REPO/.servers}
TEST_USER=cerulean

# use_state_dirs DIR: a set of servers keeps its configuration, logs and
# PID files in these folders of DIR.
use_state_dirs() { CONF=$1/conf; LOGS=$1/logs; PIDS=$1/pids; }

# begin_up [WHY]: what every `up` does first: as root (WHY: what for), with
# its folders made.
begin_up() {
    [[ $(id -u) == 0 ]] || die "must run as root${1:+ ($1)}"
    mkdir -p "$CONF" "$LOGS" "$PIDS"
}

# need_sshd_keys HOW: stop unless servers.sh has set up the sshd whose host
# keys this set of servers shares (HOW: what to run first).
need_sshd_keys() {
    [[ -f $STATE/sshd/ssh_host_ed25519_key ]] || die "$1"
}

log() { printf '[servers] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- process helpers -------------------------------------------------------

# PID 1 here does not reap orphans: a stopped daemon lingers as a zombie,
# so a process counts as alive only if it exists and is not in state Z.
alive() {
    local pid=$1 state
    [[ -r /proc/$pid/stat ]] || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

pid_of() { [[ -s $PIDS/$1.pid ]] && tr -d ' \n' <"$PIDS/$1.pid"; }

running() { local pid; pid=$(pid_of "$1") || return 1; alive "$pid"; }

stop_pid() {
    local name=$1 pid i
    pid=$(pid_of "$name") || return 0
    if alive "$pid"; then
        kill "$pid" 2>/dev/null || true
        for i in $(seq 100); do alive "$pid" || break; sleep 0.1; done
        alive "$pid" && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDS/$name.pid"
}

# wait_port NAME PORT [ADDRESS]: wait until ADDRESS (127.0.0.1) takes connections.
wait_port() {
    local name=$1 port=$2 address=${3:-127.0.0.1} i
    for i in $(seq 300); do
        if (exec 3<>"/dev/tcp/$address/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    die "$name did not listen on $address:$port within 30 s (see $LOGS)"
}

wait_for() {
    local what=$1; shift
    local i
    for i in $(seq 300); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    die "$what was not ready within 30 s (see $LOGS)"
}

# Start a non-daemonizing server in its own session; $! is the server itself.
spawn() {
    local name=$1; shift
    setsid "$@" >"$LOGS/$name.log" 2>&1 < /dev/null &
    echo $! >"$PIDS/$name.pid"
}

# stop_sessions_of NAME: stop an sshd and every session it holds (the
# listener's children), so a restart really drops every connection.
stop_sessions_of() {
    local pid
    if pid=$(pid_of "$1") && alive "$pid"; then pkill -TERM -P "$pid" 2>/dev/null || true; fi
    stop_pid "$1"
}
