import pytest

from kefu.core import periodic


def _job(name, every, calls, fail=False):
    def func():
        calls.append(name)
        if fail:
            raise RuntimeError("boom")

    return periodic.Job(name=name, every=every, func=func)


def _at(moment: float):
    return lambda: moment


def test_each_job_runs_at_its_own_cadence():
    calls: list[str] = []
    jobs = [_job("fast", 1, calls), _job("slow", 10, calls)]
    for moment in (0.0, 0.5, 1.0, 2.0, 10.0):
        periodic.run_due(jobs, clock=_at(moment))
    assert calls == ["fast", "slow", "fast", "fast", "fast", "slow"]


def test_a_failing_job_does_not_stop_the_others_and_is_tried_again(caplog):
    calls: list[str] = []
    jobs = [_job("broken", 1, calls, fail=True), _job("fine", 1, calls)]
    periodic.run_due(jobs, clock=lambda: 0.0)
    periodic.run_due(jobs, clock=lambda: 1.0)
    assert calls == ["broken", "fine", "broken", "fine"]
    assert "periodic.failed" in caplog.text


@pytest.mark.django_db
def test_every_apps_sweeps_are_discovered():
    names = [job.name for job in periodic.jobs()]
    assert "kefu.notifications.tasks.deliver_notifications" in names
