#!/usr/bin/env bash
# The loopback world Cerulean 1.0's own test suite expects, built the way its
# Docker images (NaturalHPC/cerulean-test-docker-images) build theirs, on top
# of the real servers of tests/servers/servers.sh (Slurm, the PBS wrappers).
#
#   compat.sh up     host names, test user files, sshd and a flaky sshd on
#                    port 22, WebDAV on ports 80/443, the suite's virtualenv
#   compat.sh down   stop what `up` started and remove the host names
#   compat.sh run    run the suite (unmodified, from the PyPI wheel) as the
#                    test user against our installed package
#
# Host names (in a marked block of /etc/hosts):
#   cerulean-test-ssh, -sftp, -torque-6, -slurm-XX-YY  127.0.10.1  sshd
#   cerulean-test-flaky                                127.0.10.2  flaky sshd
#   cerulean-test-webdav                               127.0.10.3  wsgidav
# Must run as root, after `servers.sh up`.
set -euo pipefail
set +m

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/servers/lib.sh
source "$HERE/../servers/lib.sh"  # REPO, STATE, TEST_USER and the helpers
SERVER_VENV=${VENV:-$REPO/.venv}
COMPAT=$STATE/compat
use_state_dirs "$COMPAT"
# The suite runs as the test user, who cannot enter /root where this
# machine's own Python lives: its virtualenv is made from Debian's python3,
# outside the work tree.
SUITE_VENV=${CERULEAN_COMPAT_VENV:-/opt/cerulean-compat/venv}
SUITE_DIR=/home/cerulean/cerulean-1.0-suite
WHEEL_VERSION=1.0.0
# Workers for the run (pytest-xdist): the scheduler tests mostly wait for
# jobs (a Slurm time limit takes a minute and more), so three run side by
# side on two cores; conftest.py keeps tests that share files apart.
WORKERS=${CERULEAN_COMPAT_WORKERS:-3}

TEST_HOME=/home/$TEST_USER
SSH_ADDRESS=127.0.10.1
FLAKY_ADDRESS=127.0.10.2
WEBDAV_ADDRESS=127.0.10.3
SSH_NAMES="cerulean-test-ssh cerulean-test-sftp cerulean-test-torque-6"
for v in 16-05 17-02 17-11 18-08 19-05 20-02 20-11 21-08 22-05 23-02 23-11 24-05 24-11; do
    SSH_NAMES+=" cerulean-test-slurm-$v"
done
HOSTS_BEGIN="# >>> cerulean compat test hosts"
HOSTS_END="# <<< cerulean compat test hosts"
# The flaky sshd's session killer stops by itself after this long.
FLAKY_MAX_SECONDS=3600

# --- host names ----------------------------------------------------------------

remove_hosts() {
    sed -i "/^$HOSTS_BEGIN\$/,/^$HOSTS_END\$/d" /etc/hosts
}

add_hosts() {
    remove_hosts
    {
        echo "$HOSTS_BEGIN"
        echo "$SSH_ADDRESS $SSH_NAMES"
        echo "$FLAKY_ADDRESS cerulean-test-flaky"
        echo "$WEBDAV_ADDRESS cerulean-test-webdav"
        echo "$HOSTS_END"
    } >>/etc/hosts
}

# --- the test user's files (as create-test-files.sh in their base image) --------

make_test_files() {
    local t=$TEST_HOME/test_files
    chmod -R u+rwx "$t" 2>/dev/null || true
    rm -rf "$t"
    mkdir -p "$t/links"
    echo 'Hello World' >"$t/links/file0"
    : >"$t/links/file1"
    : >"$t/links/executable"; chmod 744 "$t/links/executable"
    : >"$t/links/private"; chmod 600 "$t/links/private"
    ln -s "$t/links/file0" "$t/links/link0"
    ln -s "$t/links/link0" "$t/links/link1"
    ln -s /doesnotexist "$t/links/link2"
    ln -s "$t/links/link3" "$t/links/link4"
    ln -s "$t/links/link4" "$t/links/link3"
    mkfifo "$t/fifo"
    mknod "$t/chardev" c 0 0
    mknod "$t/blockdev" b 0 0
    chown -R -h "$TEST_USER:$TEST_USER" "$t"
    chmod 755 "$t"

    install -m 755 /dev/stdin /usr/local/bin/endless-job.sh <<'EOF'
#!/bin/bash
# Sleep forever (Cerulean 1.0's test job that never ends by itself)
while true ; do
    sleep 10
done
EOF
}

make_keys() {
    local ssh=$TEST_HOME/.ssh
    mkdir -p "$COMPAT/keys"
    [[ -f $COMPAT/keys/id1_rsa ]] || ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -C id1 -f "$COMPAT/keys/id1_rsa"
    [[ -f $COMPAT/keys/id2_rsa ]] || ssh-keygen -q -t rsa -b 2048 -m PEM -N kingfisher -C id2 -f "$COMPAT/keys/id2_rsa"
    install -d -m 700 -o "$TEST_USER" -g "$TEST_USER" "$ssh"
    install -m 600 -o "$TEST_USER" -g "$TEST_USER" "$COMPAT"/keys/id1_rsa "$COMPAT"/keys/id2_rsa "$ssh/"
    install -m 644 -o "$TEST_USER" -g "$TEST_USER" "$COMPAT"/keys/id1_rsa.pub "$COMPAT"/keys/id2_rsa.pub "$ssh/"
    # servers.sh wrote authorized_keys afresh; add the suite's two keys.
    grep -qF "$(cut -d' ' -f2 "$COMPAT/keys/id1_rsa.pub")" "$ssh/authorized_keys" 2>/dev/null ||
        cat "$COMPAT"/keys/id1_rsa.pub "$COMPAT"/keys/id2_rsa.pub >>"$ssh/authorized_keys"
    chown "$TEST_USER:$TEST_USER" "$ssh/authorized_keys"; chmod 600 "$ssh/authorized_keys"

    # The suite's user knows every test host's key: host keys stay verified.
    local t names
    names=$(echo "$SSH_NAMES cerulean-test-flaky" | tr ' ' ',')
    : >"$ssh/known_hosts"
    for t in ed25519 rsa ecdsa; do
        echo "$names $(cut -d' ' -f1,2 "$STATE/sshd/ssh_host_${t}_key.pub")" >>"$ssh/known_hosts"
    done
    chown "$TEST_USER:$TEST_USER" "$ssh/known_hosts"; chmod 644 "$ssh/known_hosts"
}

# --- sshd on port 22, and the flaky one ---------------------------------------------

write_sshd_config() {
    local name=$1 address=$2
    cat >"$CONF/$name.conf" <<EOF
Port 22
ListenAddress $address
HostKey $STATE/sshd/ssh_host_ed25519_key
HostKey $STATE/sshd/ssh_host_rsa_key
HostKey $STATE/sshd/ssh_host_ecdsa_key
PidFile $PIDS/$name.pid
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $TEST_USER
UsePAM no
StrictModes yes
Subsystem sftp internal-sftp
MaxSessions 100
MaxStartups 100:30:200
MaxAuthTries 10
LogLevel INFO
EOF
    /usr/sbin/sshd -t -f "$CONF/$name.conf" || die "$name config rejected"
}

start_sshd_on() {
    local name=$1 address=$2
    running "$name" && return 0
    mkdir -p /run/sshd
    /usr/sbin/sshd -f "$CONF/$name.conf" -E "$LOGS/$name.log"
    wait_port "$name" 22 "$address"
}

# As their flaky image does: every 10-29 s, kill each session of the flaky
# sshd with a chance of 1 in 8. Only that sshd's own session processes (the
# listener's children), by PID; ends with the listener or after
# FLAKY_MAX_SECONDS.
flaky_loop() {
    local listener=$1 started=$SECONDS pid
    while alive "$listener" && ((SECONDS - started < FLAKY_MAX_SECONDS)); do
        sleep $((RANDOM % 20 + 10))
        for pid in $(pgrep -P "$listener" || true); do
            if ((RANDOM % 8 == 0)); then
                kill "$pid" 2>/dev/null && echo "$(date +%T) dropped session $pid"
            fi
        done
    done
}

start_flaky() {
    start_sshd_on sshd-flaky "$FLAKY_ADDRESS"
    running flaky-killer && return 0
    flaky_loop "$(pid_of sshd-flaky)" >"$LOGS/flaky-killer.log" 2>&1 </dev/null &
    echo $! >"$PIDS/flaky-killer.pid"
}

# --- WebDAV: /files (anonymous) and /protected_files (basic auth), HTTP and HTTPS ----

setup_webdav() {
    local root=$COMPAT/webdav t
    rm -rf "$root/files"
    mkdir -p "$root/files/home/cerulean" "$root/protected_files"
    # A copy of the test tree, with links relative as in their WebDAV image
    # (no FIFO or devices: the server would serve them as files).
    t=$root/files/home/cerulean/test_files
    mkdir -p "$t/links"
    cp -a "$TEST_HOME"/test_files/links/{file0,file1,executable,private} "$t/links/"
    ln -s file0 "$t/links/link0"; ln -s link0 "$t/links/link1"
    ln -s /doesnotexist "$t/links/link2"
    ln -s link4 "$t/links/link3"; ln -s link3 "$t/links/link4"
    if [[ ! -f $COMPAT/webdav.crt ]]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=cerulean-test-webdav" \
            -addext "subjectAltName=DNS:cerulean-test-webdav" \
            -keyout "$COMPAT/webdav.key" -out "$COMPAT/webdav.crt" >/dev/null 2>&1 ||
            die "could not make the WebDAV certificate"
    fi
    install -m 644 -o "$TEST_USER" -g "$TEST_USER" "$COMPAT/webdav.crt" "$TEST_HOME/cerulean_webdav.crt"
    local port extra
    for port in 80 443; do
        extra=""
        [[ $port == 443 ]] && extra="ssl_certificate: \"$COMPAT/webdav.crt\"
ssl_private_key: \"$COMPAT/webdav.key\""
        cat >"$CONF/wsgidav-$port.yaml" <<EOF
host: $WEBDAV_ADDRESS
port: $port
$extra
provider_mapping:
  "/files": "$root/files"
  "/protected_files": "$root/protected_files"
simple_dc:
  user_mapping:
    "/files": true
    "/protected_files":
      "$TEST_USER":
        password: kingfisher
http_authenticator:
  accept_basic: true
  accept_digest: false
  default_to_digest: false
# Serve what the test tree's links point to, as nginx does in their image.
fs_dav_provider:
  follow_symlinks: true
dir_browser:
  enable: true
verbose: 2
logging:
  enable_loggers: []
lock_storage: true
property_manager: true
EOF
    done
}

start_webdav() {
    local port
    for port in 80 443; do
        running "wsgidav-$port" || spawn "wsgidav-$port" "$SERVER_VENV/bin/wsgidav" --config "$CONF/wsgidav-$port.yaml"
    done
    for port in 80 443; do wait_port "wsgidav-$port" "$port" "$WEBDAV_ADDRESS"; done
}

# --- the suite's virtualenv and files --------------------------------------------

make_suite() {
    dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q "ok installed" ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >"$LOGS/apt.log" 2>&1
    [[ -x $SUITE_VENV/bin/python ]] || /usr/bin/python3 -m venv "$SUITE_VENV"
    # Our package, installed as a user installs it (not editable), with what
    # the suite itself imports, and xdist to spread it over workers (xdist
    # 3.8's groups do not work with pytest 9, which keeps node ids elsewhere).
    "$SUITE_VENV/bin/python" -m pip install -q --disable-pip-version-check "$REPO" \
        'pytest>=8,<9' 'pytest-xdist>=3.6' \
        >"$LOGS/pip.log" 2>&1 || { tail -20 "$LOGS/pip.log" >&2; die "pip install into $SUITE_VENV failed"; }

    # Their test files, unmodified, from the wheel on PyPI; our conftest.
    local wheel_dir=$COMPAT/wheel
    if ! ls "$wheel_dir"/cerulean-$WHEEL_VERSION-*.whl >/dev/null 2>&1; then
        mkdir -p "$wheel_dir"
        "$SUITE_VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps \
            -d "$wheel_dir" "cerulean==$WHEEL_VERSION" >>"$LOGS/pip.log" 2>&1 || die "could not download cerulean $WHEEL_VERSION"
    fi
    rm -rf "$SUITE_DIR"; mkdir -p "$SUITE_DIR"
    "$SUITE_VENV/bin/python" - "$wheel_dir"/cerulean-$WHEEL_VERSION-*.whl "$SUITE_DIR" <<'EOF'
import sys, zipfile, pathlib
wheel, target = sys.argv[1], pathlib.Path(sys.argv[2])
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        p = pathlib.PurePosixPath(name)
        if p.parent == pathlib.PurePosixPath('cerulean/test') and p.name.startswith('test_') and p.suffix == '.py':
            (target / p.name).write_bytes(z.read(name))
EOF
    cp "$HERE/conftest.py" "$SUITE_DIR/conftest.py"
    chown -R "$TEST_USER:$TEST_USER" "$SUITE_DIR"
}

# --- commands ---------------------------------------------------------------------

up() {
    begin_up
    need_sshd_keys "run tests/servers/servers.sh up first"
    add_hosts
    make_test_files
    make_keys
    write_sshd_config sshd-compat "$SSH_ADDRESS"
    write_sshd_config sshd-flaky "$FLAKY_ADDRESS"
    start_sshd_on sshd-compat "$SSH_ADDRESS"
    start_flaky
    setup_webdav
    start_webdav
    make_suite
    log "compat world up: sshd $SSH_ADDRESS:22, flaky sshd $FLAKY_ADDRESS:22, WebDAV $WEBDAV_ADDRESS:80/443"
}

down() {
    mkdir -p "$PIDS"
    stop_pid flaky-killer
    stop_sessions_of sshd-flaky
    stop_sessions_of sshd-compat
    stop_pid wsgidav-80
    stop_pid wsgidav-443
    remove_hosts
    log "compat world stopped; logs kept in $LOGS"
}

install_ours() {
    "$SUITE_VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall "$REPO" \
        >>"$LOGS/pip.log" 2>&1 || die "installing our package into $SUITE_VENV failed"
}

run() {
    cd "$SUITE_DIR"
    install_ours   # the code of the work tree as it is now, and our conftest
    install -o "$TEST_USER" -g "$TEST_USER" -m 644 "$HERE/conftest.py" "$SUITE_DIR/conftest.py"
    # Their suite leaves files behind on failure: a fresh tree each run; and
    # servers.sh rewrites authorized_keys whenever it runs.
    make_test_files
    make_keys
    local report=$SUITE_DIR/report.xml
    rm -f "$report"
    runuser -u "$TEST_USER" -- env HOME="$TEST_HOME" PATH=/usr/local/bin:/usr/bin:/bin \
        "$SUITE_VENV/bin/python" -m pytest -p no:cacheprovider -o addopts= \
        -n "$WORKERS" --dist loadgroup --junitxml="$report" -rfE "$@" || true
    [[ -s $report ]] || die "the suite wrote no report"
    # Passes if nothing failed but what this machine cannot pass (verdict.py).
    "$SUITE_VENV/bin/python" "$HERE/verdict.py" "$report"
}

case ${1:-} in
    up) up ;;
    down) down ;;
    run) shift; run "$@" ;;
    *) echo "usage: $0 up|down|run [pytest args]" >&2; exit 2 ;;
esac
