#!/usr/bin/env bash
# A real Son of Grid Engine 8.1.9 on 127.0.0.1: sge_qmaster and one sge_execd,
# queues all.q (default) and batch, parallel environment smp.
#
#   sge.sh up       install (unpack the Debian packages), set up, start, wait
#   sge.sh down     stop (jobs of the test user are deleted first)
#   sge.sh status   say what runs
#
# Debian's gridengine-client conflicts with slurm-wlm-torque (both ship
# qsub/qstat), so apt cannot install it beside the Slurm test server. The
# .debs are unpacked under $STATE/sge/pkg instead, and nothing of SGE goes
# on the default PATH: the test user reaches SGE through the scheduler's
# prefix, `. $STATE/sge/root/default/common/settings.sh; `
# (SGE_PREFIX in tests/servers/settings.py), as users of a site with
# modules reach theirs. Ports, names and that prefix are the ones of
# settings.py. Must run as root. Facts behind these steps:
# shared/notes/test-servers.md, section 7.
set -euo pipefail
set +m

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/servers/lib.sh
source "$HERE/lib.sh"  # REPO, STATE, TEST_USER and the helpers
use_state_dirs "$STATE"
SGE=$STATE/sge
PKG=$SGE/pkg                 # the unpacked .debs
export SGE_ROOT=$SGE/root    # our cell's root: links into $PKG, plus the cell
export SGE_CELL=default
export SGE_QMASTER_PORT=16444
export SGE_EXECD_PORT=16445
PE=smp
SLOTS=4
PACKAGES=(gridengine-common gridengine-client gridengine-master gridengine-exec)
# The binaries look for their helpers and spooling libraries here.
COMPILED_IN=/usr/lib/gridengine

ARCH=lx-amd64
BIN=$SGE_ROOT/bin/$ARCH
CELL=$SGE_ROOT/$SGE_CELL
export PATH=$BIN:$PATH
export LD_LIBRARY_PATH=$COMPILED_IN${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# --- installation ------------------------------------------------------------

# Unpack the packages under $PKG (once), with the one library apt can
# install without a conflict. Fails, with the reason on stderr, where that
# is impossible (no network, another distribution).
install_sge() {
    local deb p
    if [[ ! -x $PKG/usr/lib/gridengine/sge_qmaster ]]; then
        command -v apt-get >/dev/null || { log "SGE: no apt-get here"; return 1; }
        mkdir -p "$SGE/debs" "$PKG"
        # apt's sandbox user cannot write to our state directory.
        (cd "$SGE/debs" && apt-get download "${PACKAGES[@]}") >"$LOGS/sge-apt.log" 2>&1 || {
            apt-get update -qq >>"$LOGS/sge-apt.log" 2>&1 || true
            (cd "$SGE/debs" && apt-get download "${PACKAGES[@]}") >>"$LOGS/sge-apt.log" 2>&1
        } || { tail -5 "$LOGS/sge-apt.log" >&2; log "SGE: apt-get download failed"; return 1; }
        for deb in "$SGE"/debs/*.deb; do
            dpkg-deb -x "$deb" "$PKG" || { log "SGE: cannot unpack $deb"; return 1; }
        done
    fi
    for p in libjemalloc2 libhwloc15 libmunge2 libtirpc3 libdb5.3; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" \
                >>"$LOGS/sge-apt.log" 2>&1 || { tail -5 "$LOGS/sge-apt.log" >&2; log "SGE: cannot install $p"; return 1; }
        fi
    done
    # The path is compiled in; a link to the unpacked copy serves. Never
    # replace a real installation that someone else put there.
    if [[ -L $COMPILED_IN || ! -e $COMPILED_IN ]]; then
        ln -sfn "$PKG/usr/lib/gridengine" "$COMPILED_IN"
    elif [[ ! -x $COMPILED_IN/sge_qmaster ]]; then
        log "SGE: $COMPILED_IN exists and is not Grid Engine"; return 1
    fi
}

# --- the cell ------------------------------------------------------------------

# A text file edited by qconf: `qconf -mX` runs $EDITOR on a temporary file.
editor() {
    local script=$SGE/edit.sh
    printf '#!/bin/sh\nsed -i %s "$1"\n' "$1" >"$script"
    chmod +x "$script"
    echo "$script"
}

setup_cell() {
    local host spool=$CELL/spool
    host=$(hostname)
    mkdir -p "$SGE_ROOT/bin" "$SGE_ROOT/utilbin" "$SGE_ROOT/lib" "$CELL/common" \
        "$spool/qmaster" "$spool/execd"
    ln -sfn "$PKG/usr/lib/gridengine" "$SGE_ROOT/bin/$ARCH"
    ln -sfn "$PKG/usr/lib/gridengine" "$SGE_ROOT/utilbin/$ARCH"
    ln -sfn "$PKG/usr/lib/gridengine" "$SGE_ROOT/lib/$ARCH"
    ln -sfn "$PKG/usr/share/gridengine/util" "$SGE_ROOT/util"
    # What users source to reach this cell (the prefix of the tests).
    cat >"$CELL/common/settings.sh" <<EOF
export SGE_ROOT='$SGE_ROOT' SGE_CELL=$SGE_CELL SGE_QMASTER_PORT=$SGE_QMASTER_PORT SGE_EXECD_PORT=$SGE_EXECD_PORT
export PATH="\$SGE_ROOT/bin/$ARCH:\$PATH"
EOF
    # The name SGE resolves this host to is localhost (first in /etc/hosts
    # for 127.0.0.1); without the alias commlib denies the host's own
    # daemons and clients access.
    echo "localhost $host" >"$CELL/common/host_aliases"
    echo localhost >"$CELL/common/act_qmaster"
    [[ -d $spool/qmaster/job_scripts ]] && return 0   # spooled before: keep it
    cat >"$CELL/common/bootstrap" <<EOF
# Version: 8.1.9
admin_user              none
default_domain          none
ignore_fqdn             true
spooling_method         classic
spooling_lib            libspoolc
spooling_params         $CELL/common;$spool/qmaster
binary_path             $SGE_ROOT/bin
qmaster_spool_dir       $spool/qmaster
security_mode           none
job_spooling            true
listener_threads        2
worker_threads          2
scheduler_threads       1
jvm_threads             0
EOF
    # min_uid/min_gid 0: root's jobs too; shell_start_mode unix_behavior:
    # the script's #! line chooses the shell; the accounting file is
    # written at once, so qacct knows a job as soon as it has ended.
    sed -e "s|^execd_spool_dir .*|execd_spool_dir        $spool/execd|" \
        -e 's|^min_uid .*|min_uid                0|' \
        -e 's|^min_gid .*|min_gid                0|' \
        -e 's|^mailer .*|mailer                 /bin/true|' \
        -e 's|^shell_start_mode .*|shell_start_mode       unix_behavior|' \
        -e 's|^load_report_time .*|load_report_time       00:00:05|' \
        -e 's|^reporting_params .*|reporting_params       accounting=true reporting=false flush_time=00:00:01 joblog=false sharelog=00:00:00 accounting_flush_time=00:00:00|' \
        "$PKG/usr/share/gridengine/default-configuration" >"$SGE/configuration"
    local res=$PKG/usr/share/gridengine/util/resources
    {
        spoolinit classic libspoolc "$CELL/common;$spool/qmaster" init
        spooldefaults configuration "$SGE/configuration"
        spooldefaults complexes "$res/centry"
        spooldefaults usersets "$res/usersets"
        spooldefaults managers root
        spooldefaults operators root
        spooldefaults adminhosts localhost
    } >"$LOGS/sge-spoolinit.log" 2>&1 || { tail -5 "$LOGS/sge-spoolinit.log" >&2; log "SGE: spooling set-up failed"; return 1; }
}

# --- daemons -------------------------------------------------------------------

qmaster_up() { qstat -f >/dev/null 2>&1; }

start_qmaster() {
    if ! running sge_qmaster; then
        # A stopped qmaster leaves its pid file: it must not pass for the
        # new one's.
        rm -f "$CELL/spool/qmaster/qmaster.pid"
        sge_qmaster >"$LOGS/sge_qmaster.log" 2>&1 ||
            { log "SGE: sge_qmaster did not start (see $CELL/spool/qmaster/messages)"; return 1; }
        wait_for sge_qmaster test -s "$CELL/spool/qmaster/qmaster.pid"
        cp "$CELL/spool/qmaster/qmaster.pid" "$PIDS/sge_qmaster.pid"
    fi
    wait_for "sge_qmaster" qmaster_up
}

# Exec host, parallel environment, queues and scheduler settings, each added
# once (the spool keeps them over restarts).
configure() {
    local f=$SGE/objects
    mkdir -p "$f"
    qconf -ss 2>/dev/null | grep -qx localhost || qconf -as localhost >>"$LOGS/sge-qconf.log" 2>&1
    if ! qconf -se localhost >/dev/null 2>&1; then
        printf 'hostname localhost\nload_scaling NONE\ncomplex_values NONE\nuser_lists NONE\nxuser_lists NONE\nprojects NONE\nxprojects NONE\nusage_scaling NONE\nreport_variables NONE\n' >"$f/host"
        qconf -Ae "$f/host" >>"$LOGS/sge-qconf.log" 2>&1
    fi
    if ! qconf -sp "$PE" >/dev/null 2>&1; then
        cat >"$f/pe" <<EOF
pe_name            $PE
slots              $SLOTS
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$fill_up
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
        qconf -Ap "$f/pe" >>"$LOGS/sge-qconf.log" 2>&1
    fi
    local q slots
    for q in all.q batch; do
        if ! qconf -sq "$q" >/dev/null 2>&1; then
            slots=$SLOTS; [[ $q == batch ]] && slots=2
            EDITOR=$(editor "-e 's|^qname .*|qname $q|' -e 's|^hostlist .*|hostlist localhost|' -e 's|^slots .*|slots $slots|' -e 's|^shell .*|shell /bin/bash|' -e 's|^pe_list .*|pe_list $PE|'") \
                qconf -aq "$q" >>"$LOGS/sge-qconf.log" 2>&1
        fi
        # No load threshold: on this shared two-core machine the load
        # average (plus the scheduler's 0.5 per job it just started) passes
        # the default np_load_avg=1.75, and a queue over it takes no job, so
        # a 4-slot job would wait for ever. Set each time, for old spools.
        qconf -rattr queue load_thresholds NONE "$q" >>"$LOGS/sge-qconf.log" 2>&1
    done
    # Jobs start within a second or two of submission, not 15 s; no load
    # adjustments (see load_thresholds above).
    EDITOR=$(editor "-e 's|^schedule_interval .*|schedule_interval 0:0:1|' -e 's|^flush_submit_sec .*|flush_submit_sec 1|' -e 's|^flush_finish_sec .*|flush_finish_sec 1|' -e 's|^job_load_adjustments .*|job_load_adjustments NONE|'") \
        qconf -msconf >>"$LOGS/sge-qconf.log" 2>&1
}

start_execd() {
    if ! running sge_execd; then
        rm -f "$CELL/spool/execd/localhost/execd.pid"
        sge_execd >"$LOGS/sge_execd.log" 2>&1 || { log "SGE: sge_execd did not start"; return 1; }
        wait_for sge_execd test -s "$CELL/spool/execd/localhost/execd.pid"
        cp "$CELL/spool/execd/localhost/execd.pid" "$PIDS/sge_execd.pid"
    fi
    # Ready when the exec host reports its load, i.e. takes jobs.
    wait_for "sge_execd" sh -c "qhost -h localhost | awk 'NR>3 && \$4 != \"-\" {ok=1} END {exit !ok}'"
}

# --- commands ------------------------------------------------------------------

up() {
    [[ $(id -u) == 0 ]] || die "must run as root"
    mkdir -p "$SGE" "$LOGS" "$PIDS"
    rm -f "$SGE/unavailable"
    local t0=$SECONDS why
    if ! why=$(install_sge 2>&1); then
        echo "Grid Engine could not be installed: ${why//$'\n'/; }" >"$SGE/unavailable"
        log "$(cat "$SGE/unavailable"); its tests will skip (fail under CI=true)"
        return 0
    fi
    setup_cell || die "SGE cell set-up failed"
    start_qmaster || die "sge_qmaster failed"
    configure
    start_execd || die "sge_execd failed"
    log "SGE up in $((SECONDS - t0)) s (qmaster port $SGE_QMASTER_PORT)"
}

down() {
    mkdir -p "$PIDS"
    if running sge_qmaster; then
        qdel -u "$TEST_USER" >/dev/null 2>&1 || true
        qdel -u root >/dev/null 2>&1 || true
    fi
    stop_pid sge_execd
    stop_pid sge_qmaster
    log "SGE stopped"
}

status() {
    local name
    for name in sge_qmaster sge_execd; do
        if running "$name"; then echo "$name: running (pid $(pid_of "$name"))"; else echo "$name: stopped"; fi
    done
    [[ -f $SGE/unavailable ]] && cat "$SGE/unavailable"
    return 0
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
