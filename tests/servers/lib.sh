# Shell helpers shared by servers.sh and compat.sh: logging, and starting,
# probing and stopping daemons by PID file. The sourcing script sets PIDS and
# LOGS (directories) before calling them.

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
