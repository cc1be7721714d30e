"""The error of a refused login, apart from the login code.

Here rather than in :mod:`cerulean._ssh.auth` because the credentials
(:mod:`cerulean.credential`) raise it too, and ``auth`` imports them.
"""
from __future__ import annotations

import paramiko


class AuthenticationError(paramiko.AuthenticationException, ConnectionError):
    """The server did not accept the credential.

    It is a ``paramiko.AuthenticationException`` (what paramiko raises) and a
    ``ConnectionError`` (what Cerulean 1.0 raised), so existing handlers of
    either keep working.
    """
