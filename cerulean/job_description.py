"""What to run, where and with which resources: the input to submit()."""
from __future__ import annotations


class JobDescription:
    """Describes a job to submit to a scheduler.

    Create one, set the attributes you need and pass it to
    :meth:`Scheduler.submit`. Unset attributes (None) are left to the
    scheduler's defaults.

    Attributes:
        name (str): The name of the job, with which it will show up in the
            scheduler's queue. Cerulean does not use the name, but it may be
            useful if you manually check the queue.
        working_directory (str): The working directory to execute in.
        environment (Dict[str, str]): A dictionary of environment variables
            to define, and their values.
        command (str): The command to execute.
        arguments (List[str]): A list of arguments to pass. If needed, you
            need to add quotes yourself, the arguments will not be escaped
            by cerulean.
        stdout_file (str): File to direct standard output to.
        stderr_file (str): File to direct standard error to.
        queue_name (str): Name of the queue to submit to.
        time_reserved (int): Time to reserve, in seconds.
        num_nodes (int): The number of nodes to reserve.
        mpi_processes_per_node (int): Number of MPI processes to start per
            node.
        system_out_file (str): File to direct the standard output of the
            scheduler to.
        system_err_file (str): File to direct the standard error of the
            scheduler to.
        extra_scheduler_options (str): Additional options to add to the
            scheduler command line on job submission. Note that these are
            scheduler-specific!

    Note that stdout_file and stderr_file will receive the output of the
    process you are starting, while system_out_file and system_err_file will
    receive messages from the scheduler (e.g. that the job ran out of its
    time limit and was killed).
    """

    def __init__(self) -> None:
        """Create a JobDescription with every attribute unset."""
        self.name: str = "cerulean"
        self.working_directory: str | None = None
        self.environment: dict[str, str] = {}
        self.command: str | None = None
        self.arguments: list[str] = []
        self.stdout_file: str | None = None
        self.stderr_file: str | None = None
        self.queue_name: str | None = None
        self.time_reserved: int | None = None
        self.num_nodes: int | None = None
        self.mpi_processes_per_node: int | None = None
        self.system_out_file: str | None = None
        self.system_err_file: str | None = None
        self.extra_scheduler_options: str | None = None
