"""The :class:`Preset` dataclass: a named set of job resources (as in neuro_sdk)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Preset:
    """*Read-only* dataclass for describing a job configuration.

    Presets come from the cluster configuration (see
    :mod:`neuro_compat.config`), where they may also name a partition or
    queue and a time limit; those stay in the configuration and are used by
    the Jobs subsystem.

    :ivar credits_per_hour: price of the preset; 0 on HPC clusters.
    :ivar cpu: requested number of CPUs, ``float``.
    :ivar memory: requested memory amount in bytes, ``int``.
    :ivar scheduler_enabled: always False here.
    :ivar preemptible_node: always False here.
    :ivar gpu: the number of requested GPUs, ``int``, or None.
    :ivar gpu_model: the name of requested GPU model, ``str``, or None.
    :ivar tpu_type: requested TPU type; None here.
    :ivar tpu_software_version: requested TPU software version; None here.
    """

    credits_per_hour: Decimal
    cpu: float
    memory: int
    scheduler_enabled: bool = False
    preemptible_node: bool = False
    gpu: int | None = None
    gpu_model: str | None = None
    tpu_type: str | None = None
    tpu_software_version: str | None = None

    @property
    def memory_mb(self) -> int:
        """Requested memory amount in MiB, ``int``."""
        return self.memory // 2**20
