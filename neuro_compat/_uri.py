"""URIs: neuro_sdk's normalisation rules, and confinement to the storage root.

Normal forms (as neuro_sdk makes them):

* ``storage:path`` (relative) is ``storage://<cluster>/<user>/path``: a
  relative path lands in the user's directory;
* ``storage:/path`` (absolute) is ``storage://<cluster>/path``;
* ``storage://cluster/path`` stays as it is;
* ``file:path`` and ``file:/path`` become absolute ``file:///...`` URIs.

Every storage URI then maps to a path below the cluster's storage root:
``storage://cluster/a/b`` is ``<root>/a/b``. A ``..`` segment (also written
``%2e%2e``) is refused rather than resolved, so no URI names anything above
the root; symbolic links are checked where the path is used (see
:mod:`neuro_compat._cluster.storage_root`).
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from urllib.parse import quote_from_bytes

from yarl import URL

from .errors import StoragePathError

CLUSTER_SCHEMES = ("storage", "image", "job", "secret", "disk", "blob")
"""Schemes whose URIs name a cluster and a user, like ``storage:``."""


def check_scheme(scheme: str, allowed: Iterable[str]) -> None:
    """Raise ValueError unless ``scheme`` is among ``allowed`` (if any given)."""
    allowed = tuple(allowed)
    if allowed and scheme not in allowed:
        names = ", ".join(f"'{a}:'" for a in allowed)
        verb = "are" if len(allowed) > 1 else "is"
        raise ValueError(f"Invalid scheme '{scheme}:' (only {names} {verb} allowed)")


def _check_parts(uri: URL) -> None:
    if uri.fragment:
        raise ValueError(f"Fragment part is not allowed in {uri.scheme} URI. "
                         "Use '%23' to quote '#' in path.")
    if uri.query_string:
        raise ValueError(f"Query part is not allowed in {uri.scheme} URI. "
                         "Use '%3F' to quote '?' in path.")
    if uri.user is not None:
        raise ValueError(f"User is not allowed in {uri.scheme} URI.")
    if uri.password is not None:
        raise ValueError(f"Password is not allowed in {uri.scheme} URI")
    if uri.explicit_port is not None:
        raise ValueError(f"Port is not allowed in {uri.scheme} URI")


def _check_segments(uri: URL, path: str) -> None:
    """Refuse ``..`` segments and NUL characters in a (decoded) path."""
    if "\0" in path:
        raise StoragePathError(uri, "a NUL character is not allowed in a path")
    if ".." in path.split("/"):
        raise StoragePathError(
            uri, "'..' is not allowed in storage paths (it could lead out of the "
            "storage root); name the directory directly")


def normalize_cluster_uri(uri: URL, username: str, cluster_name: str,
                          org_name: str | None = None) -> URL:
    """The long form ``scheme://cluster/user/...`` of a cluster-scheme URI.

    :raises ValueError: for fragments, queries, user info, ports, ``~`` or
        a relative URI of a scheme that has no cluster.
    :raises StoragePathError: for ``..`` segments.
    """
    _check_parts(uri)
    path = uri.path
    if (uri.host or path.lstrip("/")).startswith("~"):
        raise ValueError(f"Cannot expand user for {uri}")
    _check_segments(uri, path)
    if uri.host:
        return uri
    if uri.scheme not in CLUSTER_SCHEMES:
        raise ValueError(f"Absolute URI is required for scheme {uri.scheme}")
    if path.startswith("/"):
        path = path.lstrip("/")
    else:
        path = f"{username}/{path}" if path else username
    if org_name is not None:
        path = f"{org_name}/{path}"
    return URL.build(scheme=uri.scheme, host=cluster_name, path="/" + path)


def normalize_storage_uri(uri: URL, username: str, cluster_name: str) -> URL:
    """The long form of a ``storage:`` URI; ValueError for other schemes."""
    if uri.scheme != "storage":
        raise ValueError(f"Invalid storage scheme '{uri.scheme}:' "
                         "(only 'storage:' is allowed)")
    return normalize_cluster_uri(uri, username, cluster_name)


def normalize_local_uri(uri: URL) -> URL:
    """An absolute ``file:///...`` URI for a ``file:`` URI (relative to cwd)."""
    if uri.scheme != "file":
        raise ValueError(f"Invalid local file scheme '{uri.scheme}:' "
                         "(only 'file:' is allowed)")
    _check_parts(uri)
    if uri.host:
        raise ValueError(f"Host part is not allowed in file URI, found '{uri.host}'")
    if uri.path.startswith("~"):
        raise ValueError(f"Cannot expand user for {uri}")
    path = Path(uri.path)
    path = Path(path.anchor).resolve() / path
    ret = URL(path.as_uri())
    while ret.path.startswith("//"):
        ret = ret.with_path(ret.path[1:])
    return ret


def local_path(uri: URL) -> Path:
    """The local path of a normalised ``file:`` URI."""
    return Path(uri.path)


def uri_from_string(text: str, username: str, cluster_name: str,
                    allowed_schemes: Iterable[str] = ("file", "storage")) -> URL:
    """Parse a URI or local path written by a person, and normalise it.

    A string without a scheme is a local path when ``file`` is allowed.

    :raises ValueError: if it has no usable scheme or a bad part.
    """
    allowed = tuple(allowed_schemes)
    if "file" in allowed and text.startswith("~"):
        expanded = os.path.expanduser(text)
        if expanded.startswith("~"):
            raise ValueError(f"Cannot expand user for {text}")
        text = Path(expanded).as_uri()
    uri = URL(text)
    if not uri.scheme or len(uri.scheme) == 1:
        if re.fullmatch(r"[a-zA-Z0-9+\-.]{2,}:[0-9]+", text):
            uri = URL(f"{text}#")  # urlsplit reads "scheme:123" as a port
        elif "file" in allowed:
            path = Path(text)
            if path.is_absolute():
                uri = URL(path.as_uri())
            else:
                uri = URL("file:" + quote_from_bytes(path.as_posix().encode()))
            text = str(uri)
    if not uri.scheme:
        raise ValueError("URI Scheme not specified. "
                         f"Please specify one of {', '.join(allowed)}.")
    check_scheme(uri.scheme, allowed)
    if "#" in text:
        raise ValueError(f"Fragment part is not allowed in {uri.scheme} URI. "
                         "Use '%23' to quote '#' in path.")
    if "?" in text:
        raise ValueError(f"Query part is not allowed in {uri.scheme} URI. "
                         "Use '%3F' to quote '?' in path.")
    if uri.scheme == "file":
        return normalize_local_uri(uri)
    # Look for '..' before yarl resolves it away in the long form.
    _check_segments(uri, uri.path)
    return normalize_cluster_uri(uri, username, cluster_name)


def short_uri(uri: URL, username: str, cluster_name: str) -> URL:
    """The short form: without cluster and user where they are the defaults."""
    ret = uri
    if uri.scheme != "file" and ret.host == cluster_name \
            and ret.parts[:2] == ("/", username):
        ret = URL.build(scheme=ret.scheme, host="", path="/".join(ret.parts[2:]))
    while ret.path.endswith("/") and ret.path != "/":
        ret = URL.build(scheme=ret.scheme, host=ret.host or "", path=ret.path[:-1])
    return ret


def storage_relpath(uri: URL) -> PurePosixPath:
    """The path below the storage root that a normalised storage URI names.

    ``storage://cluster/alice/data`` gives ``alice/data``; the root itself
    gives ``.``.

    :raises StoragePathError: for ``..`` segments or NUL characters.
    """
    path = uri.path
    _check_segments(uri, path)
    parts = [p for p in path.split("/") if p and p != "."]
    return PurePosixPath(*parts) if parts else PurePosixPath(".")
