import threading
import time

import pytest

from dirvae.training.background import BackgroundWriter


def test_jobs_run_off_the_calling_thread_in_submission_order():
    writer = BackgroundWriter()
    seen, threads = [], set()

    def job(index):
        def run():
            time.sleep(0.002 * (5 - index))  # later jobs are quicker: order must still hold
            seen.append(index)
            threads.add(threading.current_thread().name)

        return run

    for index in range(5):
        writer.submit(job(index))
    writer.flush()
    assert seen == [0, 1, 2, 3, 4]
    assert threads == {"dirvae-writer"}


def test_a_failed_job_is_raised_on_the_training_thread_once():
    writer = BackgroundWriter()
    writer.submit(lambda: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        writer.flush()
    writer.flush()  # reported once, then forgotten
    ran = []
    writer.submit(lambda: (_ for _ in ()).throw(OSError("disk full")))
    time.sleep(0.05)
    with pytest.raises(OSError, match="disk full"):
        writer.submit(lambda: ran.append(1))  # the next submit reports it before queueing more
    writer.flush()
    assert ran == []


def _failure_between_two_jobs(writer, ran):
    """A slow job, a failing one, then a checkpoint; the slow one finishes shortly after."""
    gate = threading.Event()
    writer.submit(gate.wait)
    writer.submit(lambda: (_ for _ in ()).throw(OSError("a picture failed")))
    writer.submit(lambda: ran.append("checkpoint"))
    threading.Timer(0.05, gate.set).start()


def test_a_failure_does_not_drop_the_jobs_queued_behind_it():
    writer, ran = BackgroundWriter(), []
    _failure_between_two_jobs(writer, ran)
    with pytest.raises(OSError):
        writer.flush()
    assert ran == ["checkpoint"]


def test_settle_waits_for_every_job_and_drops_a_failure():
    writer, ran = BackgroundWriter(), []
    _failure_between_two_jobs(writer, ran)
    writer.settle()
    assert ran == ["checkpoint"]
    writer.flush()  # nothing left to report


def test_submit_blocks_when_max_pending_jobs_wait():
    writer = BackgroundWriter(max_pending=1)
    gate = threading.Event()
    writer.submit(gate.wait)  # running
    writer.submit(lambda: None)  # waiting: the queue is full
    blocked = threading.Event()
    done = threading.Event()

    def third():
        blocked.set()
        writer.submit(lambda: None)
        done.set()

    threading.Thread(target=third).start()
    blocked.wait(1)
    assert not done.wait(0.1)  # memory stays bounded: the third snapshot waits
    gate.set()
    assert done.wait(2)
    writer.flush()


def test_the_worker_ends_when_idle_and_restarts_on_demand():
    writer = BackgroundWriter(name="dirvae-writer-idle-test")
    writer.submit(lambda: None)
    writer.flush()
    for thread in threading.enumerate():
        if thread.name == "dirvae-writer-idle-test":
            thread.join(timeout=2)  # it returns once its queue is empty: nothing keeps the interpreter alive
    assert not [thread for thread in threading.enumerate() if thread.name == "dirvae-writer-idle-test"]
    ran = []
    writer.submit(lambda: ran.append(1))
    writer.flush()
    assert ran == [1]


def test_rejects_a_zero_queue():
    with pytest.raises(ValueError):
        BackgroundWriter(max_pending=0)
