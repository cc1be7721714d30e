"""Where the real test servers listen and how to log in to them.

``tests/servers/servers.sh`` sets the servers up with exactly these values;
the fixtures in ``tests/conftest.py`` read them from here.  Everything listens
on 127.0.0.1 only.
"""
import os
import shlex
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("CERULEAN_TEST_STATE", REPO / ".servers"))

HOST = "127.0.0.1"

# OpenSSH sshd
SSH_PORT = 10022
USER = "cerulean"
PASSWORD = "kingfisher"
HOME = "/home/cerulean"
KEYS = STATE / "keys"
ED25519_KEY = KEYS / "id_ed25519"  # has a passphrase
ED25519_PASSPHRASE = "heron"
RSA_KEY = KEYS / "id_rsa"  # no passphrase
ECDSA_KEY = KEYS / "id_ecdsa"  # no passphrase
KNOWN_HOSTS = STATE / "known_hosts"  # holds the test sshd's host keys
HOST_KEYS = STATE / "sshd"  # ssh_host_*_key(.pub) of the test sshd

# User certificates (tests/servers/logins.sh): the test sshd trusts the user
# CA in CA_DIR (TrustedUserCAKeys). Neither key is in authorized_keys, so
# only its certificate lets it in.
CA_DIR = STATE / "ca"
CERT_KEY = CA_DIR / "id_cert"  # no passphrase; CERT_KEY-cert.pub: principal USER, valid
CERT_FILE = CA_DIR / "id_cert-cert.pub"
EXPIRED_CERT_KEY = CA_DIR / "id_expired"  # its certificate expired 2020-01-02
EXPIRED_CERT_FILE = CA_DIR / "id_expired-cert.pub"
EXPIRED_CERT_UNTIL = "2020-01-02"  # its certificate's "valid before" date

# A second sshd (logins.sh) that asks for a key, then a one-time code
# (keyboard-interactive through PAM's pam_oath, TOTP: 6 digits, 30 s), as
# centres with two-factor logins do. Same host keys as the main sshd (its
# lines are in KNOWN_HOSTS); pam_oath refuses a code that was used before.
OTP_SSH_PORT = 10023
OTP_SECRET_HEX = "3132333435363738393031323334353637383930"  # RFC 6238's
OTP_SECRET_BASE32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # the same secret
OTP_PROMPT = f"One-time password (OATH) for `{USER}': "

# WebDAV (wsgidav)
WEBDAV_PORT = 18080
WEBDAV_HTTPS_PORT = 18443
WEBDAV_PRIVATE_URL = f"http://{HOST}:{WEBDAV_PORT}/private"  # basic auth USER/PASSWORD
WEBDAV_PUBLIC_URL = f"http://{HOST}:{WEBDAV_PORT}/public"  # anonymous
WEBDAV_HTTPS_URL = f"https://{HOST}:{WEBDAV_HTTPS_PORT}/private"  # basic auth
WEBDAV_CA_CERT = STATE / "webdav" / "cert.pem"  # self-signed, for 127.0.0.1
WEBDAV_PRIVATE_DIR = STATE / "webdav" / "private"
WEBDAV_PUBLIC_DIR = STATE / "webdav" / "public"

# Slurm: three nodes n1, n2, n3 (one slurmd each on this host; n1 and n2 with
# two fake GPUs each, gres "gpu"), partitions
# debug (default) and batch, both over all three.
SLURM_NODES = ("n1", "n2", "n3")
SLURM_GPU_NODES = ("n1", "n2")
SLURMCTLD_PORT = 16817
SLURM_PARTITIONS = ("debug", "batch")

# Son of Grid Engine 8.1.9 (tests/servers/sge.sh): one exec host, queues
# all.q (4 slots) and batch (2), parallel environment smp (4 slots). Its
# qsub/qstat would shadow the PBS wrappers', so they are not on PATH: the
# tests reach them through the scheduler's prefix, sourcing the cell's
# settings.sh as users of a site do.
SGE_ROOT = STATE / "sge" / "root"
SGE_QMASTER_PORT = 16444
SGE_EXECD_PORT = 16445
SGE_PREFIX = f". {shlex.quote(str(SGE_ROOT / 'default/common/settings.sh'))}; "
SGE_PE = "smp"
SGE_PE_SLOTS = 4
SGE_UNAVAILABLE = STATE / "sge" / "unavailable"  # why sge.sh could not install it

LOGS = STATE / "logs"

# name -> (host, port) probed to decide whether a server is up
PROBES = {
    "ssh": (HOST, SSH_PORT),
    "ssh-otp": (HOST, OTP_SSH_PORT),
    "webdav": (HOST, WEBDAV_PORT),
    "webdav-https": (HOST, WEBDAV_HTTPS_PORT),
    "slurm": (HOST, SLURMCTLD_PORT),
    "sge": (HOST, SGE_QMASTER_PORT),
}
