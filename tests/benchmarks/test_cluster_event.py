"""The cluster benchmark's split of put -> published into our tasks' time and Airflow's."""

from __future__ import annotations

import pytest

from benchmarks.cluster_event import Event, TaskTiming


def task(name: str, started: float, ended: float) -> TaskTiming:
    return TaskTiming("dag", name, started, started, ended, "worker-1")


@pytest.mark.parametrize(
    ("tasks", "published_after", "work"),
    [
        # One after another with gaps: the gaps are Airflow's.
        ([task("unsettled", 1, 2), task("ingest", 3, 6), task("build", 7, 20)], 12, 1 + 3 + 5),
        # Side by side: counted once.
        ([task("announce", 9, 10), task("check", 9.5, 10.5), task("build", 11, 30)], 15, 1.5 + 4),
        # A task that starts after the publish (the report's announcement) is not on the path.
        ([task("build", 2, 8), task("announce_marts", 9, 10)], 6, 4),
    ],
)
def test_our_share_counts_running_time_once_and_stops_at_the_publish(
    tasks: list[TaskTiming], published_after: float, work: float
) -> None:
    event = Event("event", published_after, tasks)

    assert event.work == pytest.approx(work)
    assert event.build.task == "build"
