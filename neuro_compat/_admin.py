"""The platform-administration types neuro_sdk re-exports, with their
underscore names (``_Cluster``, ``_Balance``, ...): re-exported here from
where neuro_sdk gets them, ``neuro_admin_client`` and
``neuro_config_client``.

Administration has no counterpart on HPC clusters (``Client.admin`` raises
NotSupportedError), but the neuro command line imports these types when it
starts. Those two packages come with the ``cli`` extra; without them the
names are simply absent, and nothing else of neuro_compat needs them.
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping

ADMIN_NAMES: Mapping[str, tuple[str, str]] = {
    f"_{name}": ("neuro_admin_client", name) for name in (
        "Balance", "Cluster", "ClusterUser", "ClusterUserRoleType", "ClusterUserWithInfo",
        "Org", "OrgCluster", "OrgUser", "OrgUserRoleType", "OrgUserWithInfo", "Project",
        "ProjectUser", "ProjectUserRoleType", "ProjectUserWithInfo", "Quota", "UserInfo")
} | {
    f"_{name}": ("neuro_config_client", name) for name in (
        "AWSCloudProvider", "AWSStorage", "AWSStorageOptions", "AzureCloudProvider",
        "AzureReplicationType", "AzureStorage", "AzureStorageOptions", "AzureStorageTier",
        "CloudProvider", "CloudProviderOptions", "CloudProviderType", "ClusterStatus",
        "EFSPerformanceMode", "EFSThroughputMode", "GoogleCloudProvider",
        "GoogleFilestoreTier", "GoogleStorage", "GoogleStorageOptions", "NodePool",
        "NodePoolOptions", "OnPremCloudProvider", "ResourcePreset", "Storage",
        "StorageInstance", "StorageOptions", "TPUPreset", "VCDCloudProvider",
        "VCDCloudProviderOptions", "VCDStorage")
} | {"_ConfigCluster": ("neuro_config_client", "Cluster")}
"""Our name: (the module neuro_sdk takes it from, the name there)."""


def admin_types() -> dict[str, object]:
    """The admin types whose package is installed, by their neuro_sdk name."""
    found: dict[str, object] = {}
    modules: dict[str, object] = {}
    for ours, (module_name, theirs) in ADMIN_NAMES.items():
        if module_name not in modules:
            try:
                modules[module_name] = importlib.import_module(module_name)
            except ImportError:
                modules[module_name] = None
        module = modules[module_name]
        if module is not None and hasattr(module, theirs):
            found[ours] = getattr(module, theirs)
    return found
