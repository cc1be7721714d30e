#!/usr/bin/env bash
# Real test servers on 127.0.0.1: OpenSSH sshd (and, from logins.sh, one that
# asks for one-time codes, and a user CA), a 3-node Slurm (munge, MariaDB,
# slurmdbd, slurmctld, three slurmd) with the PBS/Torque wrappers of
# slurm-wlm-torque, WebDAV (wsgidav, HTTP and HTTPS), and, from sge.sh, Son of
# Grid Engine.
#
#   servers.sh up             install what is missing, start all, wait until ready
#   servers.sh down           stop all (by PID file), keep the logs
#   servers.sh status         say what runs
#   servers.sh restart-sshd   stop sshd and every session it holds, start it again
#
# Ports and logins are those of tests/servers/settings.py. Must run as root.
# State, configuration and logs live in $CERULEAN_TEST_STATE (default
# <repo>/.servers); logs stay there after `down` for debugging.
# Facts and traps behind these steps: shared/notes/test-servers.md.
set -euo pipefail
set +m

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/servers/lib.sh
source "$HERE/lib.sh"  # REPO, STATE, TEST_USER and the helpers
VENV=${VENV:-$REPO/.venv}
use_state_dirs "$STATE"

TEST_UID=997
TEST_PASSWORD=kingfisher
KEY_PASSPHRASE=heron
SSH_PORT=10022
WEBDAV_PORT=18080
WEBDAV_HTTPS_PORT=18443
MYSQL_PORT=13306
SLURMCTLD_PORT=16817
SLURMDBD_PORT=16819
# Three slurmd on this host make a 3-node cluster (multiple-slurmd build):
# node n1 listens on 16821, n2 on 16822, n3 on 16823.
SLURM_NODES=(n1 n2 n3)
GPU_NODES=(n1 n2)
SLURMD_BASE_PORT=16820

DEBIAN_PACKAGES=(openssh-server openssh-client munge mariadb-server slurmdbd
                 slurmctld slurmd slurm-client slurm-wlm-torque openssl
                 iproute2 procps)

# --- installation --------------------------------------------------------

install_packages() {
    local missing=() p
    for p in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >"$LOGS/apt.log" 2>&1 || { tail -20 "$LOGS/apt.log" >&2; die "apt-get install failed"; }
    fi
    [[ -x $VENV/bin/wsgidav ]] || die "wsgidav missing in $VENV (run: make venv)"
}

# --- the test user -----------------------------------------------------------

# Cerulean 1.0's suite expects its user with uid and gid 997, as its Docker
# images make it. On Debian 997 may already belong to a system account that
# owns no running process here (systemd-timesync, with no systemd): that
# account moves to a free system id, with its files.
free_system_id() {
    local id
    for id in $(seq 990 -1 100); do
        getent passwd "$id" >/dev/null || getent group "$id" >/dev/null || { echo "$id"; return; }
    done
    die "no free system uid/gid below 990"
}

move_id_holder() {
    local kind=$1 name new   # kind: passwd or group
    name=$(getent "$kind" "$TEST_UID" | cut -d: -f1) || return 0
    [[ $name == "$TEST_USER" ]] && return 0
    new=$(free_system_id)
    log "moving $kind entry '$name' off id $TEST_UID to $new (Cerulean 1.0's tests need $TEST_UID)"
    if [[ $kind == passwd ]]; then
        pgrep -u "$TEST_UID" >/dev/null && die "uid $TEST_UID ($name) has running processes"
        usermod -u "$new" "$name"
        find / -xdev -uid "$TEST_UID" -exec chown -h "$new" {} + 2>/dev/null || true
    else
        groupmod -g "$new" "$name"
        find / -xdev -gid "$TEST_UID" -exec chgrp -h "$new" {} + 2>/dev/null || true
    fi
}

ensure_test_user() {
    local old_uid old_gid home=/home/$TEST_USER
    move_id_holder passwd
    move_id_holder group
    getent group "$TEST_USER" >/dev/null || groupadd -g "$TEST_UID" "$TEST_USER"
    old_gid=$(getent group "$TEST_USER" | cut -d: -f3)
    if [[ $old_gid != "$TEST_UID" ]]; then
        groupmod -g "$TEST_UID" "$TEST_USER"
    fi
    if ! id "$TEST_USER" >/dev/null 2>&1; then
        useradd -m -u "$TEST_UID" -g "$TEST_UID" -s /bin/bash "$TEST_USER"
    fi
    old_uid=$(id -u "$TEST_USER")
    if [[ $old_uid != "$TEST_UID" ]]; then
        usermod -u "$TEST_UID" -g "$TEST_UID" "$TEST_USER"
    fi
    mkdir -p "$home"
    chown -R "$TEST_UID:$TEST_UID" "$home"
}

# --- OpenSSH sshd ------------------------------------------------------------

setup_sshd() {
    local t home=/home/$TEST_USER
    mkdir -p "$STATE/sshd" "$STATE/keys"
    for t in ed25519 rsa ecdsa; do
        [[ -f $STATE/sshd/ssh_host_${t}_key ]] ||
            ssh-keygen -q -t "$t" -N '' -C "cerulean-test-host" -f "$STATE/sshd/ssh_host_${t}_key"
    done
    [[ -f $STATE/keys/id_ed25519 ]] ||
        ssh-keygen -q -t ed25519 -N "$KEY_PASSPHRASE" -C "cerulean-test-ed25519" -f "$STATE/keys/id_ed25519"
    [[ -f $STATE/keys/id_rsa ]] ||
        ssh-keygen -q -t rsa -b 3072 -m PEM -N '' -C "cerulean-test-rsa" -f "$STATE/keys/id_rsa"
    [[ -f $STATE/keys/id_ecdsa ]] ||
        ssh-keygen -q -t ecdsa -b 256 -N '' -C "cerulean-test-ecdsa" -f "$STATE/keys/id_ecdsa"

    ensure_test_user
    echo "$TEST_USER:$TEST_PASSWORD" | chpasswd
    install -d -m 700 -o "$TEST_USER" -g "$TEST_USER" "$home/.ssh"
    cat "$STATE"/keys/id_*.pub >"$home/.ssh/authorized_keys"
    chown "$TEST_USER:$TEST_USER" "$home/.ssh/authorized_keys"
    chmod 600 "$home/.ssh/authorized_keys"

    # The tests verify host keys against this file, as users do with theirs.
    : >"$STATE/known_hosts"
    for t in ed25519 rsa ecdsa; do
        printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" \
            "$(cut -d' ' -f1,2 "$STATE/sshd/ssh_host_${t}_key.pub")" >>"$STATE/known_hosts"
    done

    cat >"$CONF/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $STATE/sshd/ssh_host_ed25519_key
HostKey $STATE/sshd/ssh_host_rsa_key
HostKey $STATE/sshd/ssh_host_ecdsa_key
PidFile $PIDS/sshd.pid
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $TEST_USER
UsePAM no
StrictModes yes
AllowTcpForwarding yes
Subsystem sftp internal-sftp
MaxSessions 100
MaxStartups 100:30:200
MaxAuthTries 10
# User certificates signed by the test CA (tests/servers/logins.sh) log in.
TrustedUserCAKeys $STATE/ca/user_ca.pub
ClientAliveInterval 0
LogLevel INFO
EOF
    mkdir -p /run/sshd   # privilege separation dir; /run is a tmpfs
    /usr/sbin/sshd -t -f "$CONF/sshd_config" || die "sshd_config rejected"
}

start_sshd() {
    running sshd && return 0
    mkdir -p /run/sshd   # privilege separation dir; /run is a tmpfs
    /usr/sbin/sshd -f "$CONF/sshd_config" -E "$LOGS/sshd.log"
    wait_port sshd "$SSH_PORT"
}

stop_sshd() { stop_sessions_of sshd; }

# --- munge, MariaDB, Slurm -----------------------------------------------------

# One NodeName line per slurmd, each on its own port; NodeHostname is this
# host's name, which slurmd -N matches. The nodes of GPU_NODES have two
# (fake) GPUs each.
slurm_node_lines() {
    local cpus=$1 i=1 node gres
    for node in "${SLURM_NODES[@]}"; do
        gres=""
        [[ " ${GPU_NODES[*]} " == *" $node "* ]] && gres=" Gres=gpu:2"
        echo "NodeName=$node NodeHostname=$(hostname -s) NodeAddr=127.0.0.1 Port=$((SLURMD_BASE_PORT + i)) CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=4000$gres State=UNKNOWN"
        i=$((i + 1))
    done
}

# Fake GPUs: Slurm wants a character device per GPU (a plain file is
# refused, a GPU without File= dropped); copies of /dev/null serve, and a
# job given one sees CUDA_VISIBLE_DEVICES as on a real GPU node.
setup_gpus() {
    local dev=$STATE/slurm/gpu i
    mkdir -p "$dev"
    for i in 0 1; do
        [[ -c $dev/nvidia$i ]] || { rm -f "$dev/nvidia$i"; mknod "$dev/nvidia$i" c 1 3; }
        chmod 666 "$dev/nvidia$i"
    done
    local nodes
    nodes=$(IFS=,; echo "${GPU_NODES[*]}")
    echo "NodeName=$nodes Name=gpu File=$dev/nvidia[0-1]" >"$CONF/gres.conf"
}

setup_slurm() {
    local cpus node
    cpus=4
    mkdir -p "$STATE/slurm/state" "$STATE/mysql" "$STATE/run"
    for node in "${SLURM_NODES[@]}"; do mkdir -p "$STATE/slurm/spool/$node"; done
    [[ -f /etc/munge/munge.key ]] || { mkdir -p /etc/munge; runuser -u munge -- mungekey -c -k /etc/munge/munge.key; }

    cat >"$CONF/slurm.conf" <<EOF
ClusterName=cerulean-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$SLURMCTLD_PORT
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/slurm/state
SlurmdSpoolDir=$STATE/slurm/spool/%n
SlurmctldPidFile=$PIDS/slurmctld.pid
SlurmdPidFile=$PIDS/slurmd-%n.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default, a job that asks for no memory takes the whole node and
# jobs run one at a time.
DefMemPerCPU=100
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SlurmdParameters=config_overrides
GresTypes=gpu
MailProg=/bin/true
ReturnToService=2
MinJobAge=300
KillWait=2
OverTimeLimit=0
InactiveLimit=0
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$SLURMDBD_PORT
JobCompType=jobcomp/none
$(slurm_node_lines "$cpus")
PartitionName=debug Nodes=n[1-3] Default=YES MaxTime=INFINITE State=UP
PartitionName=batch Nodes=n[1-3] Default=NO MaxTime=INFINITE State=UP
EOF
    cat >"$CONF/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$SLURMDBD_PORT
SlurmUser=root
PidFile=$PIDS/slurmdbd.pid
LogFile=$LOGS/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MYSQL_PORT
StorageUser=slurm
StoragePass=slurmdbpass
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$CONF/slurmdbd.conf"
    setup_gpus
    mkdir -p /etc/slurm/plugstack.conf.d
    ln -sf "$CONF/slurm.conf" /etc/slurm/slurm.conf
    ln -sf "$CONF/slurmdbd.conf" /etc/slurm/slurmdbd.conf
    # Gives jobs PBS_JOBID, PBS_O_WORKDIR and friends, as Torque does.
    echo "optional /usr/lib/x86_64-linux-gnu/slurm-wlm/spank_pbs.so" >/etc/slurm/plugstack.conf.d/pbs.conf
    [[ -f /etc/slurm/plugstack.conf ]] || echo "include /etc/slurm/plugstack.conf.d/*.conf" >/etc/slurm/plugstack.conf
}

mysql_cli() { mariadb --socket="$STATE/run/mysqld.sock" -uroot "$@"; }

start_munge() {
    running munged && return 0
    install -d -o munge -g munge -m 755 /run/munge
    install -d -o munge -g munge -m 700 "$STATE/munge"
    rm -f /run/munge/munge.socket.2*
    runuser -u munge -- /usr/sbin/munged --pid-file="$STATE/munge/munged.pid" \
        --log-file="$STATE/munge/munged.log" --force
    wait_for munged test -S /run/munge/munge.socket.2
    cp "$STATE/munge/munged.pid" "$PIDS/munged.pid"
}

start_mariadb() {
    running mariadb && return 0
    if [[ ! -d $STATE/mysql/mysql ]]; then
        mariadb-install-db --user=root --datadir="$STATE/mysql" --auth-root-authentication-method=socket \
            --skip-test-db >"$LOGS/mariadb-install.log" 2>&1 || die "mariadb-install-db failed"
    fi
    spawn mariadb /usr/sbin/mariadbd --no-defaults --user=root --datadir="$STATE/mysql" \
        --socket="$STATE/run/mysqld.sock" --port=$MYSQL_PORT --bind-address=127.0.0.1 \
        --pid-file="$STATE/run/mariadb.pid" --innodb-log-file-size=8M --skip-name-resolve
    wait_port mariadb $MYSQL_PORT
    wait_for "mariadb socket" mysql_cli -e "SELECT 1"
    mysql_cli -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmdbpass';
                  CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmdbpass';
                  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
                  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
}

start_slurm() {
    if ! running slurmdbd; then
        /usr/sbin/slurmdbd   # reads /etc/slurm/slurmdbd.conf (linked above)
        wait_port slurmdbd $SLURMDBD_PORT
    fi
    if ! running slurmctld; then
        /usr/sbin/slurmctld -f "$CONF/slurm.conf"
        wait_port slurmctld $SLURMCTLD_PORT
    fi
    local node
    for node in "${SLURM_NODES[@]}"; do
        running "slurmd-$node" || /usr/sbin/slurmd -f "$CONF/slurm.conf" -N "$node"
    done
    # Ready when every node takes jobs; a node left DOWN by an earlier run
    # (ReturnToService=2 usually prevents that) is resumed.
    local i states
    for i in $(seq 300); do
        states=$(sinfo -h -N -p debug -o %T 2>/dev/null | sort -u | tr '\n' ' ' || true)
        if [[ -n $states && ! $states =~ (down|drain|unk|not_resp|fail) ]]; then break; fi
        [[ $states =~ (down|drain) ]] && scontrol update NodeName="n[1-3]" State=RESUME >/dev/null 2>&1 || true
        sleep 0.1
    done
    [[ -n $states && ! $states =~ (down|drain|unk|not_resp|fail) ]] ||
        die "slurm nodes not ready (states '$states', see $LOGS)"
    # sacct needs the cluster registered in slurmdbd (slurmctld does it).
    wait_for "slurm accounting" sacct -n -X -S now
}

# --- WebDAV --------------------------------------------------------------------

setup_webdav() {
    mkdir -p "$STATE/webdav/private" "$STATE/webdav/public"
    if [[ ! -f $STATE/webdav/cert.pem ]]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=127.0.0.1" \
            -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
            -keyout "$STATE/webdav/key.pem" -out "$STATE/webdav/cert.pem" >/dev/null 2>&1 ||
            die "could not make the WebDAV certificate"
    fi
    local common
    # dir_browser stays on: without it wsgidav answers HEAD on a collection
    # with 403, which breaks webdavclient3's check() and mkdir().
    common="http_authenticator:
  accept_basic: true
  accept_digest: false
  default_to_digest: false
dir_browser:
  enable: true
verbose: 2
logging:
  enable_loggers: []
lock_storage: true
property_manager: true"
    cat >"$CONF/wsgidav.yaml" <<EOF
host: 127.0.0.1
port: $WEBDAV_PORT
provider_mapping:
  "/private": "$STATE/webdav/private"
  "/public": "$STATE/webdav/public"
simple_dc:
  user_mapping:
    "/private":
      "$TEST_USER":
        password: "$TEST_PASSWORD"
    "/public": true
$common
EOF
    cat >"$CONF/wsgidav-https.yaml" <<EOF
host: 127.0.0.1
port: $WEBDAV_HTTPS_PORT
ssl_certificate: "$STATE/webdav/cert.pem"
ssl_private_key: "$STATE/webdav/key.pem"
provider_mapping:
  "/private": "$STATE/webdav/private"
simple_dc:
  user_mapping:
    "/private":
      "$TEST_USER":
        password: "$TEST_PASSWORD"
$common
EOF
}

start_webdav() {
    if ! running wsgidav; then
        spawn wsgidav "$VENV/bin/wsgidav" --config "$CONF/wsgidav.yaml"
    fi
    if ! running wsgidav-https; then
        spawn wsgidav-https "$VENV/bin/wsgidav" --config "$CONF/wsgidav-https.yaml"
    fi
    wait_port wsgidav $WEBDAV_PORT
    wait_port wsgidav-https $WEBDAV_HTTPS_PORT
}

# --- commands ------------------------------------------------------------------

up() {
    begin_up "installs packages, adds user $TEST_USER"
    install_packages
    setup_sshd
    # The user CA and the one-time-code sshd; without them only their tests
    # are missing (they skip, saying so, or fail under CI=true).
    bash "$HERE/logins.sh" up || log "logins.sh up failed: no certificate or one-time-code logins"
    setup_slurm
    setup_webdav
    local t0=$SECONDS
    start_sshd
    start_webdav
    start_munge
    start_mariadb
    start_slurm
    # Grid Engine; where it cannot be installed, sge.sh says why and its
    # tests skip, saying so (or fail under CI=true).
    bash "$HERE/sge.sh" up || log "sge.sh up failed: no Grid Engine (see $LOGS)"
    log "all servers up in $((SECONDS - t0)) s; logs in $LOGS"
}

down() {
    mkdir -p "$PIDS"
    bash "$HERE/sge.sh" down || log "sge.sh down failed"
    # Cancel leftover jobs first, so slurmd does not keep them running.
    if running slurmctld; then scancel --user="$TEST_USER" >/dev/null 2>&1 || true; fi
    local node
    for node in "${SLURM_NODES[@]}"; do stop_pid "slurmd-$node"; done
    stop_pid slurmd   # the one-node set-up of earlier versions
    stop_pid slurmctld
    stop_pid slurmdbd
    stop_pid mariadb
    stop_pid munged
    stop_pid wsgidav
    stop_pid wsgidav-https
    stop_sshd
    bash "$HERE/logins.sh" down
    # Test jobs without system_out_file leave the schedulers' default output
    # files (slurm-<id>.out, <name>.o<id>, .e<id>) in the test user's home,
    # as they would on a cluster: clear them, so runs do not pile them up.
    [[ -d /home/$TEST_USER ]] && find "/home/$TEST_USER" -maxdepth 1 -type f \
        \( -name 'slurm-*.out' -o -regex '.*\.[oe][0-9]+' \) -delete
    log "all servers stopped; logs kept in $LOGS"
}

status() {
    local name
    for name in sshd wsgidav wsgidav-https munged mariadb slurmdbd slurmctld "${SLURM_NODES[@]/#/slurmd-}"; do
        if running "$name"; then echo "$name: running (pid $(pid_of "$name"))"; else echo "$name: stopped"; fi
    done
    bash "$HERE/logins.sh" status
    bash "$HERE/sge.sh" status
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    restart-sshd) stop_sshd; start_sshd; log "sshd restarted" ;;
    *) echo "usage: $0 up|down|status|restart-sshd" >&2; exit 2 ;;
esac
