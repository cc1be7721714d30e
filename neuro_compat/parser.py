"""The :class:`Parser`: building dataclasses from their string forms."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from yarl import URL

from ._images import ImageNameParser, LocalImage, RemoteImage, TagOption
from ._uri import (
    check_scheme,
    local_path,
    normalize_cluster_uri,
    normalize_local_uri,
    short_uri,
    uri_from_string,
)
from ._utils import UNSET, NoPublicConstructor, _Unset
from ._volumes import DiskVolume, EnvParseResult, SecretFile, Volume, VolumeParseResult
from .config.api import Config


class Parser(metaclass=NoPublicConstructor):
    """A set of parsing helpers, useful for building helper dataclasses from
    string representations. Available as ``Client.parse``.
    """

    def __init__(self, config: Config) -> None:
        self._config = config

    def _org(self, org_name: str | None | _Unset) -> str | None:
        return self._config.org_name if isinstance(org_name, _Unset) else org_name

    def _split_volume(self, volume: str, allow_rw_spec: bool = True,
                      kind: str = "volume") -> tuple[str, str, bool]:
        parts = volume.split(":")
        read_only = False
        if allow_rw_spec and len(parts) == 4:
            if parts[-1] not in ("ro", "rw"):
                raise ValueError(f"Wrong ReadWrite/ReadOnly mode spec for '{volume}'")
            read_only = parts.pop() == "ro"
        elif len(parts) != 3:
            raise ValueError(f"Invalid {kind} specification '{volume}'")
        container_path = parts.pop()
        return ":".join(parts), container_path, read_only

    def _cluster_uri(self, text: str, scheme: str, cluster_name: str | None,
                     org_name: str | None = None) -> URL:
        uri = uri_from_string(text, self._config.username,
                              cluster_name or self._config.cluster_name,
                              allowed_schemes=(scheme,))
        if org_name is not None:
            raise ValueError(f"Organizations do not exist on HPC clusters (org "
                             f"'{org_name}' in '{text}')")
        return uri

    def volume(self, volume: str, cluster_name: str | None = None,
               org_name: str | None | _Unset = UNSET) -> Volume:
        """Parse *volume* string into :class:`Volume` object.

        The string is three fields separated by colons:
        ``<storage-uri:container-path[:ro]>``. *storage-uri* is a URL on the
        storage, e.g. ``storage:folder`` points to the ``<user-root>/folder``
        directory; *container-path* is a path inside a job where it is
        mounted; the optional ``ro`` means it is mounted read-only.

        :param volume: the volume specification.
        :param cluster_name: cluster for relative URIs (default: current).
        :param org_name: organization; only None is meaningful here.
        :raises ValueError: if *volume* has invalid format.
        """
        raw_uri, container_path, read_only = self._split_volume(volume)
        storage_uri = self._cluster_uri(raw_uri, "storage", cluster_name,
                                        self._org(org_name))
        return Volume(storage_uri=storage_uri, container_path=container_path,
                      read_only=read_only)

    def volumes(self, volume: Sequence[str],
                cluster_name: str | None = None) -> VolumeParseResult:
        """Parse a sequence of volume definitions into regular volumes,
        secret files and disk volumes.

        :param volume: specifications, each one of
            ``STORAGE_URI:MOUNT_PATH[:ro|rw]``, ``secret:NAME:MOUNT_PATH`` or
            ``disk:NAME:MOUNT_PATH[:ro|rw]``.
        :param cluster_name: cluster for relative URIs (default: current).
        :returns: :class:`VolumeParseResult` with parsing result (order kept).
        :raises ValueError: if a specification has invalid format.
        """
        volumes: list[Volume] = []
        secret_files: list[SecretFile] = []
        disk_volumes: list[DiskVolume] = []
        for vol in volume:
            if vol in ("HOME", "ALL"):
                raise ValueError(f"--volume={vol} no longer supported")
            if vol.startswith("secret:"):
                raw, path, _ = self._split_volume(vol, False, "secret file")
                secret_files.append(SecretFile(
                    self._cluster_uri(raw, "secret", cluster_name), path))
            elif vol.startswith("disk:"):
                raw, path, read_only = self._split_volume(vol, True, "disk volume")
                disk_volumes.append(DiskVolume(
                    self._cluster_uri(raw, "disk", cluster_name), path, read_only))
            else:
                volumes.append(self.volume(vol, cluster_name))
        return VolumeParseResult(volumes=volumes, secret_files=secret_files,
                                 disk_volumes=disk_volumes)

    def _image_parser(self, cluster_name: str | None = None) -> ImageNameParser:
        registries = {name: c.config.registry for name, c in self._config.clusters.items()
                      if c.config.registry}
        return ImageNameParser(self._config.username,
                               cluster_name or self._config.cluster_name, registries)

    def local_image(self, image: str) -> LocalImage:
        """Parse *image* string into :class:`LocalImage`.

        The string should fit the pattern ``name[:tag]``, e.g.
        ``"ubuntu:latest"``.

        :raises ValueError: if *image* has invalid format.
        """
        return self._image_parser().local(image)

    def remote_image(self, image: str, *, tag_option: TagOption = TagOption.DEFAULT,
                     cluster_name: str | None = None) -> RemoteImage:
        """Parse *image* string into :class:`RemoteImage`.

        The string should fit ``name[:tag]`` or ``image:name[:tag]``, e.g.
        ``"ubuntu:latest"`` or ``image:my-image:latest``. The former is for
        public Docker Hub (or other external registry) images, the latter
        for the cluster's own registry (``registry`` in its configuration).

        :param tag_option: whether a missing tag means ``latest``
            (``DEFAULT``), stays None (``ALLOW``) or a tag is an error
            (``DENY``).
        :param cluster_name: cluster for ``image:`` names (default: current).
        :raises ValueError: if *image* has invalid format.
        :raises NotSupportedError: for an ``image:`` name on a cluster
            without a registry.
        """
        return self._image_parser(cluster_name).remote(image, tag_option)

    def envs(self, env: Sequence[str], env_file: Sequence[str] = (),
             cluster_name: str | None = None) -> EnvParseResult:
        """Parse a sequence of *env* variables and a sequence of *env_file*
        file names.

        :param env: each element is ``NAME`` (the current value of the
            variable here, empty if unset) or ``NAME=VALUE``.
        :param env_file: ``.env`` files, read first: one ``NAME=VALUE`` or
            ``NAME`` per line; blank lines and lines starting with ``#`` are
            skipped. Entries of *env* override them.
        :param cluster_name: cluster for ``secret:`` values (default: current).
        :returns: :class:`EnvParseResult`; values ``secret:...`` go to its
            ``secret_env``.
        """
        lines: list[str] = []
        for filename in env_file:
            lines.extend(_read_env_file(filename))
        lines.extend(env)
        env_dict: dict[str, str] = {}
        for line in lines:
            name, sep, value = line.partition("=")
            if not name:
                raise ValueError(f"Invalid environment variable specification '{line}'")
            env_dict[name] = value if sep else os.environ.get(name, "")
        secret_env: dict[str, URL] = {}
        for name, value in list(env_dict.items()):
            if value.startswith("secret:"):
                secret_env[name] = self._cluster_uri(value, "secret", cluster_name)
                del env_dict[name]
        return EnvParseResult(env=env_dict, secret_env=secret_env)

    def uri_to_str(self, uri: URL) -> str:
        """Convert *URL* object into ``str``."""
        return str(uri)

    def str_to_uri(self, id_or_name_or_uri: str, *, allowed_schemes: Iterable[str] = (),
                   cluster_name: str | None = None,
                   org_name: str | None | _Unset = UNSET, short: bool = False) -> URL:
        """Parse a string into *normalized URL* for future usage by SDK methods.

        :param id_or_name_or_uri: a URI (``'storage:folder/file.txt'``) or
            local file path (``'/home/user/folder/file.txt'``) to parse.
        :param allowed_schemes: accepted URI schemes, e.g.
            ``('file', 'storage')``; no check by default.
        :param cluster_name: cluster for relative URIs (default: current).
        :param org_name: organization; only None is meaningful here.
        :param short: if True, return the short form (without cluster and
            user names where they are the defaults).
        :raises ValueError: if the URI is invalid or its scheme not allowed.
        """
        allowed = tuple(allowed_schemes)
        schemes = allowed or ("file", "storage", "image", "job", "secret", "disk", "blob")
        org = self._org(org_name)
        if org is not None:
            raise ValueError(f"Organizations do not exist on HPC clusters (org '{org}')")
        ret = uri_from_string(id_or_name_or_uri, self._config.username,
                              cluster_name or self._config.cluster_name, schemes)
        return short_uri(ret, self._config.username, self._config.cluster_name) \
            if short else ret

    def uri_to_path(self, uri: URL) -> Path:
        """Convert a ``file:`` *URL* into ``pathlib.Path``.

        :raises ValueError: if *uri* has no ``file:`` scheme.
        """
        if uri.scheme != "file":
            raise ValueError(f"Invalid scheme '{uri.scheme}:' (only 'file:' is allowed)")
        return local_path(normalize_local_uri(uri))

    def path_to_uri(self, path: Path) -> URL:
        """Convert ``pathlib.Path`` object into *normalized URL* with
        ``file:`` scheme."""
        return uri_from_string(str(path), self._config.username,
                               self._config.cluster_name, allowed_schemes=("file",))

    def normalize_uri(self, uri: URL, *, allowed_schemes: Iterable[str] = (),
                      cluster_name: str | None = None,
                      org_name: str | None | _Unset = UNSET, short: bool = False) -> URL:
        """Normalize *uri* according to current user name, cluster and allowed
        schemes.

        The long form always has cluster and user names, e.g.
        ``storage://cluster/user/dir/file.txt``; the short form (``short``)
        omits them where they are the defaults, e.g. ``storage:dir/file.txt``.

        :param uri: an URI to normalize.
        :param allowed_schemes: accepted URI schemes; no check by default.
        :param cluster_name: cluster for relative URIs (default: current).
        :param org_name: organization; only None is meaningful here.
        :param short: if True, return the short form.
        :raises ValueError: if uri is invalid or its scheme not allowed.
        """
        check_scheme(uri.scheme, allowed_schemes)
        if uri.scheme == "file":
            ret = normalize_local_uri(uri)
        else:
            org = self._org(org_name)
            if org is not None:
                raise ValueError(
                    f"Organizations do not exist on HPC clusters (org '{org}')")
            ret = normalize_cluster_uri(uri, self._config.username,
                                        cluster_name or self._config.cluster_name)
        return short_uri(ret, self._config.username, self._config.cluster_name) \
            if short else ret


def _read_env_file(filename: str) -> Iterator[str]:
    with open(filename, encoding="utf-8-sig") as f:
        lines = f.read().splitlines()
    for line in lines:
        line = line.lstrip()
        if line and not line.startswith("#"):
            yield line
