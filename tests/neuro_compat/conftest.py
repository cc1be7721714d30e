"""Fixtures of the neuro_compat tests.

``cluster``: a test cluster of each storage kind (local, SFTP, WebDAV), its
files removed afterwards; the storage, transfer and confinement tests take
it. A module that needs another kind of cluster defines its own fixture of
that name, which takes precedence over this one.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.neuro_compat.neuro_helpers import STORAGE_KINDS, Cluster, cluster_of


@pytest.fixture(params=STORAGE_KINDS)
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    """A test cluster of each storage kind."""
    with cluster_of(request.param, tmp_path) as c:
        yield c
