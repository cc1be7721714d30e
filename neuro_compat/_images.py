"""Image references: :class:`RemoteImage`, :class:`LocalImage`,
:class:`TagOption`, and the parser behind :meth:`Parser.remote_image` and
:meth:`Parser.local_image` (neuro_sdk's rules).

``ubuntu:latest`` and ``registry.example.org/team/img:1`` are external images
(Docker Hub or another registry). ``image:name`` and ``image://cluster/owner/
name`` refer to a cluster's own registry, which exists only where the cluster
configuration sets ``registry``; otherwise they raise NotSupportedError.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from yarl import URL

from .errors import NotSupportedError


class TagOption(enum.Enum):
    """How :meth:`Parser.remote_image` treats a missing or present tag.

    ``DEFAULT``: a missing tag means ``latest``; ``ALLOW``: a missing tag
    stays None; ``DENY``: a tag is an error.
    """

    ALLOW = enum.auto()
    DENY = enum.auto()
    DEFAULT = enum.auto()


@dataclass(frozen=True)
class RemoteImage:
    """*Read-only* dataclass for describing image in remote registry (a
    cluster's registry or other registries like Docker Hub).

    :ivar name: image name, ``str``.
    :ivar tag: image tag (``str``), None if the tag is omitted (implicit
        latest tag).
    :ivar owner: user name (``str``) of a person who manages this image;
        None for external images such as ``ubuntu:latest``.
    :ivar registry: host name of the cluster's registry, None for external
        registries like Docker Hub.
    :ivar cluster_name: the cluster whose registry holds the image, or None.
    :ivar org_name: name of an organization managing the image, or None.
    """

    name: str
    tag: str | None = None
    owner: str | None = None
    registry: str | None = None
    cluster_name: str | None = None
    org_name: str | None = None

    @classmethod
    def new_neuro_image(cls, name: str, registry: str, *, owner: str,
                        cluster_name: str, org_name: str | None,
                        tag: str | None = None) -> RemoteImage:
        """Create a new instance referring to an image in a cluster's registry.

        :param name: name of the image.
        :param registry: registry where the image is located.
        :param owner: image owner name.
        :param cluster_name: name of the cluster.
        :param org_name: name of the organization, or None.
        :param tag: image tag.
        """
        return cls(name=name, tag=tag, owner=owner, registry=registry,
                   cluster_name=cluster_name, org_name=org_name)

    @classmethod
    def new_external_image(cls, name: str, registry: str | None = None, *,
                           tag: str | None = None) -> RemoteImage:
        """Create a new instance referring to an image hosted on an external
        registry (e.g. Docker Hub).

        :param name: name of the image.
        :param registry: registry where the image is located.
        :param tag: image tag.
        """
        return cls(name=name, tag=tag, registry=registry)

    def __post_init__(self) -> None:
        if self.registry:
            if self.owner and not self.cluster_name:
                raise ValueError("required cluster name")
            if not self.owner and self.cluster_name:
                raise ValueError("required owner")
        elif self.owner or self.cluster_name:
            raise ValueError("required registry")

    def _in_cluster_registry(self) -> bool:
        return bool(self.registry and self.owner and self.cluster_name)

    def as_docker_url(self, with_scheme: bool = False) -> str:
        """URL that can be used to reference this image with Docker.

        :param with_scheme: if True, the URL includes the scheme
            (``https://``), otherwise (default) the scheme is omitted.
        """
        prefix = ""
        if self._in_cluster_registry():
            path = f"{self.org_name}/{self.owner}" if self.org_name else f"{self.owner}"
            prefix = f"{self.registry}/{path}/"
            if with_scheme:
                prefix = "https://" + prefix
        elif self.registry:
            prefix = f"{self.registry}/"
        suffix = f":{self.tag}" if self.tag else ""
        return f"{prefix}{self.name}{suffix}"

    def __str__(self) -> str:
        result = f"{self.name}:{self.tag}" if self.tag else self.name
        if self._in_cluster_registry():
            assert self.cluster_name is not None
            owner = f"{self.org_name}/{self.owner}" if self.org_name else self.owner
            return str(URL.build(scheme="image", host=self.cluster_name,
                                 path=f"/{owner}/{result}"))
        if self.registry:
            return f"{self.registry}/{result}"
        return result


@dataclass(frozen=True)
class LocalImage:
    """*Read-only* dataclass for describing *image* in local Docker system.

    :ivar name: image name, ``str``.
    :ivar tag: image tag (``str``), None if the tag is omitted (implicit
        latest tag).
    """

    name: str
    tag: str | None = None

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}" if self.tag else self.name


class ImageNameParser:
    """Parses image names for one user and default cluster.

    :param username: the default owner of cluster-registry images.
    :param cluster_name: the default cluster.
    :param registries: registry host per cluster, for the clusters that
        configure one.
    """

    def __init__(self, username: str, cluster_name: str,
                 registries: Mapping[str, str]) -> None:
        self._username = username
        self._cluster = cluster_name
        self._registries = dict(registries)

    def local(self, image: str) -> LocalImage:
        """Parse ``name[:tag]`` into a :class:`LocalImage`."""
        try:
            _validate(image)
            if image.startswith("image:"):
                raise ValueError("scheme 'image://' is not allowed for local images")
            name, tag = _split_image_name(image, "latest")
            return LocalImage(name=name, tag=tag)
        except ValueError as e:
            raise ValueError(f"Invalid local image '{image}': {e}") from e

    def remote(self, image: str, tag_option: TagOption) -> RemoteImage:
        """Parse an external or cluster-registry image name."""
        if image.startswith("image:") or self._find_by_registry(image):
            return self._cluster_image(image, tag_option)
        try:
            _validate(image)
            if tag_option == TagOption.DENY and _split_image_name(image)[1]:
                raise ValueError("tag is not allowed")
            default_tag = "latest" if tag_option == TagOption.DEFAULT else None
            name, tag = _split_image_name(image, default_tag)
        except ValueError as e:
            raise ValueError(f"Invalid remote image '{image}': {e}") from e
        registry = None
        if ":" in name:  # host:port/name: neuro_sdk splits off such a registry only
            registry, name = name.split("/", 1)
        return RemoteImage.new_external_image(name=name, tag=tag, registry=registry)

    def _find_by_registry(self, image: str) -> tuple[str, str] | None:
        for cluster, registry in self._registries.items():
            if image.startswith(f"{registry}/"):
                return cluster, image[len(registry) + 1:]
        return None

    def _cluster_image(self, image: str, tag_option: TagOption) -> RemoteImage:
        try:
            _validate(image)
            if "#" in image or "?" in image:
                raise ValueError("fragment and query are not allowed in image names")
            found = self._find_by_registry(image)
            if found is not None:
                cluster, path = found
                absolute = True
            else:
                url = URL(image)
                cluster = url.host or self._cluster
                path = url.path
                absolute = path.startswith("/")
                path = path.lstrip("/")
            if not path:
                raise ValueError("no image name specified")
            if tag_option == TagOption.DENY and _split_image_name(path)[1]:
                raise ValueError("tag is not allowed")
            default_tag = "latest" if tag_option == TagOption.DEFAULT else None
            name, tag = _split_image_name(path, default_tag)
            owner = self._username
            if absolute:
                owner, _, name = name.partition("/")
                if not name:
                    raise ValueError("no image name specified")
        except ValueError as e:
            raise ValueError(f"Invalid remote image '{image}': {e}") from e
        registry = self._registries.get(cluster)
        if registry is None:
            raise NotSupportedError(
                f"Image '{image}' is in the registry of cluster '{cluster}', but "
                f"that cluster has no registry configured (key "
                f"'clusters.{cluster}.registry' of the cluster configuration); "
                "use an external image such as 'ubuntu:latest' instead")
        return RemoteImage.new_neuro_image(name=name, tag=tag, registry=registry,
                                           owner=owner, cluster_name=cluster,
                                           org_name=None)


def _validate(image: str) -> None:
    if not image:
        raise ValueError("empty image name")
    if image.startswith("-"):
        raise ValueError("image cannot start with dash")
    if image == "image:latest":
        raise ValueError("ambiguous value: valid as both local and remote image name")
    if any(c.isspace() for c in image):
        raise ValueError("white space is not allowed")


def _split_image_name(image: str, default_tag: str | None = None) -> tuple[str, str | None]:
    if image.endswith(":") or image.startswith(":"):
        raise ValueError("empty name or empty tag")
    colons = image.count(":")
    if colons == 0:
        name, tag = image, default_tag
    elif colons == 1:
        name, tag = image.split(":")
        if "/" in tag:  # localhost:5000/ubuntu: the colon is the port's
            name, tag = image, default_tag
    elif colons == 2 and "/" in image:  # localhost:5000/owner/ubuntu:latest
        name, tag = image.rsplit(":", 1)
    else:
        raise ValueError("too many tags")
    if tag and ("/" in tag or ":" in tag):
        raise ValueError("invalid tag")
    return name, tag
