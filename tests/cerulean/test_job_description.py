"""JobDescription and JobStatus: the defaults and values Cerulean 1.0 has."""
from __future__ import annotations

import cerulean


def test_defaults_match_cerulean_1_0() -> None:
    jd = cerulean.JobDescription()
    assert jd.name == "cerulean"
    assert jd.environment == {} and jd.arguments == []
    for attr in ("working_directory", "command", "stdout_file", "stderr_file",
                 "queue_name", "time_reserved", "num_nodes",
                 "mpi_processes_per_node", "system_out_file",
                 "system_err_file", "extra_scheduler_options"):
        assert getattr(jd, attr) is None, attr


def test_descriptions_do_not_share_mutable_defaults() -> None:
    a, b = cerulean.JobDescription(), cerulean.JobDescription()
    a.environment["X"] = "1"
    a.arguments.append("y")
    assert b.environment == {} and b.arguments == []


def test_job_status_values() -> None:
    assert [(s.name, s.value) for s in cerulean.JobStatus] == [
        ("WAITING", 1), ("RUNNING", 2), ("DONE", 3)]
    assert cerulean.JobStatus is cerulean.job_status.JobStatus
