#!/usr/bin/env bash
# Logins as HPC centres demand them, for the real tests: an sshd that asks
# for a one-time code after the key (keyboard-interactive through PAM, with
# Debian's pam_oath), and a user certificate authority that the main test
# sshd trusts, with a valid and an expired user certificate.
#
#   logins.sh up       install what is missing, make the CA and certificates,
#                      start the one-time-code sshd (after servers.sh's sshd setup)
#   logins.sh down     stop that sshd and the sessions it holds
#   logins.sh status   say whether it runs
#
# Ports, paths and the TOTP secret are those of tests/servers/settings.py.
# Must run as root.
set -euo pipefail
set +m

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/servers/lib.sh
source "$HERE/lib.sh"  # REPO, STATE, TEST_USER and the helpers
use_state_dirs "$STATE"
OTP=$STATE/otp
CA=$STATE/ca

OTP_SSH_PORT=10023
# RFC 6238's test secret (hex); settings.py has it in base32 as well.
OTP_SECRET_HEX=3132333435363738393031323334353637383930
# sshd names its PAM service after the program: run through this link, it
# uses /etc/pam.d/$PAM_SERVICE and leaves Debian's own "sshd" service alone.
PAM_SERVICE=cerulean-test-sshd-otp

install_packages() {
    local missing=() p
    for p in libpam-oath oathtool openssh-server; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "installing Debian packages: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >"$LOGS/apt-logins.log" 2>&1 ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends "${missing[@]}" >"$LOGS/apt-logins.log" 2>&1; } ||
            { tail -20 "$LOGS/apt-logins.log" >&2; die "apt-get install failed"; }
    fi
}

# --- user certificates --------------------------------------------------------

# The main test sshd trusts $CA/user_ca.pub (TrustedUserCAKeys, written by
# servers.sh). Neither certificate key is in authorized_keys: only the
# certificate lets it in.
setup_certificates() {
    mkdir -p "$CA"
    [[ -f $CA/user_ca ]] || ssh-keygen -q -t ed25519 -N '' -C "cerulean-test-user-ca" -f "$CA/user_ca"
    local name validity
    for name in id_cert id_expired; do
        [[ -f $CA/$name ]] || ssh-keygen -q -t ed25519 -N '' -C "cerulean-test-$name" -f "$CA/$name"
    done
    # Re-signed on every start, so the valid one never runs out.
    for name in id_cert id_expired; do
        validity=-5m:+30d
        [[ $name == id_expired ]] && validity=20200101:20200102
        ssh-keygen -q -s "$CA/user_ca" -I "cerulean-test-$name" -n "$TEST_USER" \
            -V "$validity" "$CA/$name.pub"
    done
    chmod 644 "$CA"/*.pub
}

# --- the one-time-code sshd -------------------------------------------------------

setup_otp_sshd() {
    mkdir -p "$OTP"
    # pam_oath rewrites this file (it records the last code used), as root.
    printf 'HOTP/T30/6 %s - %s\n' "$TEST_USER" "$OTP_SECRET_HEX" >"$OTP/users.oath"
    chmod 600 "$OTP/users.oath"
    cat >"/etc/pam.d/$PAM_SERVICE" <<EOF
# cerulean tests: the one-time-code sshd of tests/servers/logins.sh
auth     required pam_oath.so usersfile=$OTP/users.oath window=4 digits=6
account  required pam_permit.so
session  required pam_permit.so
password required pam_deny.so
EOF
    ln -sf /usr/sbin/sshd "$OTP/$PAM_SERVICE"
    cat >"$CONF/sshd_otp_config" <<EOF
Port $OTP_SSH_PORT
ListenAddress 127.0.0.1
HostKey $STATE/sshd/ssh_host_ed25519_key
HostKey $STATE/sshd/ssh_host_rsa_key
HostKey $STATE/sshd/ssh_host_ecdsa_key
PidFile $PIDS/sshd-otp.pid
UsePAM yes
PasswordAuthentication no
KbdInteractiveAuthentication yes
PubkeyAuthentication yes
# A key, then a code: as centres with two-factor logins ask.
AuthenticationMethods publickey,keyboard-interactive
PermitRootLogin no
AllowUsers $TEST_USER
Subsystem sftp internal-sftp
MaxSessions 100
MaxStartups 100:30:200
LogLevel VERBOSE
EOF
    "$OTP/$PAM_SERVICE" -t -f "$CONF/sshd_otp_config" || die "sshd_otp_config rejected"
    # Same host keys as the main sshd, on its own port.
    local t
    for t in ed25519 rsa ecdsa; do
        printf '[127.0.0.1]:%s %s\n' "$OTP_SSH_PORT" \
            "$(cut -d' ' -f1,2 "$STATE/sshd/ssh_host_${t}_key.pub")" >>"$STATE/known_hosts"
    done
}

start_otp_sshd() {
    running sshd-otp && return 0
    mkdir -p /run/sshd
    "$OTP/$PAM_SERVICE" -f "$CONF/sshd_otp_config" -E "$LOGS/sshd-otp.log"
    wait_port sshd-otp "$OTP_SSH_PORT"
}

# --- commands ---------------------------------------------------------------------

up() {
    begin_up
    need_sshd_keys "run servers.sh's sshd setup first"
    install_packages
    setup_certificates
    setup_otp_sshd
    start_otp_sshd
    log "one-time-code sshd on 127.0.0.1:$OTP_SSH_PORT; user CA in $CA"
}

case ${1:-} in
    up) up ;;
    down) mkdir -p "$PIDS"; stop_sessions_of sshd-otp ;;
    status) if running sshd-otp; then echo "sshd-otp: running (pid $(pid_of sshd-otp))"; else echo "sshd-otp: stopped"; fi ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
