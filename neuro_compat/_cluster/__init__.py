"""What a client opens on one cluster, below the Jobs and Storage packages.

``session``
    :class:`~neuro_compat._cluster.session.ClusterSession`: the cerulean
    objects of one cluster (terminal, file systems, scheduler), made on
    first use, and the worker threads that call them;
    :class:`~neuro_compat._cluster.session.Sessions`: those of every
    configured cluster, as a client holds them.
``storage_root``
    The storage root, which confines every storage path (``..`` and
    symbolic links leading out are refused).
``backend``
    The storage operations neuro needs, on a cerulean file system's
    primitives and its optional ones (real paths, byte ranges, offset
    writes, disk usage).

They sit below both packages because both use them: Storage works below the
root, and Jobs bind-mounts the user's storage directory and reads a job's
output from an offset through a backend.
"""
