"""Errors raised by neuro_compat, with neuro_sdk's names and bases.

A script written for neuro_sdk catches these exactly as before. Storage errors
that neuro_sdk reports as OS errors (``FileNotFoundError``,
``IsADirectoryError``, ...) are raised as those built-in classes; a missing
remote path is raised as :class:`StorageNotFoundError`, which is both a
``FileNotFoundError`` and a :class:`ResourceNotFound`, because neuro_sdk
itself raised one or the other depending on the call.
"""
from __future__ import annotations

import errno

__all__ = [
    "AuthError",
    "AuthenticationError",
    "AuthorizationError",
    "ClientError",
    "ConfigError",
    "IllegalArgumentError",
    "NotSupportedError",
    "ResourceNotFound",
    "ServerNotAvailable",
    "StdStreamError",
    "StorageNotFoundError",
    "StoragePathError",
]


class ClientError(Exception):
    """Base class for errors of the client itself (not of its arguments)."""


class IllegalArgumentError(ValueError):
    """An argument was well-typed but not acceptable."""


class AuthError(ClientError):
    """Authentication or authorization failed."""


class AuthenticationError(AuthError):
    """The cluster did not accept our credentials (login failed)."""


class AuthorizationError(AuthError):
    """We are logged in but not allowed to do this."""


class ResourceNotFound(ValueError):
    """The named resource (file, job, cluster, ...) does not exist."""


class ServerNotAvailable(ValueError):
    """The cluster could not be reached."""


class ConfigError(RuntimeError):
    """The configuration is missing, malformed or inconsistent.

    The message names the file, the key and the problem.
    """


class NotSupportedError(NotImplementedError):
    """The operation has no meaning or no implementation on this cluster.

    The message names what is unsupported and, where there is one, what to
    do instead.
    """


class StdStreamError(Exception):
    """A stream of a running job ended: an ``exec`` session with any exit
    code, 0 included, an ``attach`` with a non-zero one (as in neuro_sdk).

    :param exit_code: the exit code the stream ended with.
    """

    def __init__(self, exit_code: int) -> None:
        super().__init__(f"Stream finished with exit code {exit_code}")
        self.exit_code = exit_code


class StorageNotFoundError(FileNotFoundError, ResourceNotFound):
    """A storage path does not exist.

    Both a ``FileNotFoundError`` (what file operations raise) and a
    :class:`ResourceNotFound` (what neuro_sdk's ``stat`` raised), so either
    ``except`` clause of an existing script catches it.
    """

    def __init__(self, what: str, uri: object) -> None:
        super().__init__(errno.ENOENT, what, str(uri))


class StoragePathError(PermissionError, IllegalArgumentError):
    """A storage URI points outside the cluster's storage root.

    Raised for ``..`` segments (also when percent-encoded), and for symbolic
    links that lead out of the storage root. Both a ``PermissionError`` and an
    :class:`IllegalArgumentError` (a ``ValueError``).
    """

    def __init__(self, uri: object, reason: str) -> None:
        super().__init__(errno.EACCES, f"Refused storage path: {reason}", str(uri))


# neuro_sdk shows its errors as living in the package itself.
for _cls in (ClientError, IllegalArgumentError, AuthError, AuthenticationError,
             AuthorizationError, ResourceNotFound, ServerNotAvailable, ConfigError,
             NotSupportedError, StdStreamError, StorageNotFoundError,
             StoragePathError):
    _cls.__module__ = "neuro_compat"
del _cls
