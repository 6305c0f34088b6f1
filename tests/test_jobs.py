"""widgets.jobs: the one job runner (keep-latest delivery, pause, cancel, join, errors) and the
app-wide GUI-thread garbage collector."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.gui

from widgets.jobs import JobRunner, gui_gc, install_gui_gc, running_runners  # noqa: E402


@pytest.fixture
def runner(qtbot):
    r = JobRunner(name="test-job")
    yield r
    r.shutdown()


def test_a_task_returns_its_value_after_the_thread_is_joined(runner, qtbot):
    with qtbot.waitSignal(runner.finished, timeout=10000) as sig:
        assert runner.start(lambda progress, should_stop: 41 + 1)
    res = sig.args[0]
    assert (res.status, res.value, res.error) == ("done", 42, None)
    assert not runner.is_running and runner.thread is None and runner not in running_runners()


def test_one_job_at_a_time(runner, qtbot):
    gate = threading.Event()
    assert runner.start(lambda p, s: gate.wait(10))
    assert not runner.start(lambda p, s: None)
    gate.set()
    qtbot.waitUntil(lambda: not runner.is_running, timeout=10000)


def test_keep_latest_delivers_the_newest_value_in_order(runner, qtbot):
    seen = []
    runner.progress.connect(seen.append)
    with qtbot.waitSignal(runner.finished, timeout=10000):
        runner.start(lambda progress, should_stop: [progress(i) for i in range(20000)] and None)
    assert seen and seen[-1] == 19999  # the last value always arrives
    assert seen == sorted(set(seen))  # never an old value after a newer one, never twice


def test_merge_keeps_every_item_exactly_once(runner, qtbot):
    seen = []
    runner.progress.connect(seen.append)
    with qtbot.waitSignal(runner.finished, timeout=10000):
        runner.start(lambda progress, should_stop: [progress((i,)) for i in range(5000)] and None,
                     merge=lambda old, new: old + new)
    assert [x for batch in seen for x in batch] == list(range(5000))


def test_cancel_makes_should_stop_true_and_reports_cancelled(runner, qtbot):
    def task(progress, should_stop):
        n = 0
        while not should_stop():
            n += 1
            progress(n)
        return n

    runner.start(task)
    qtbot.waitSignal(runner.progress, timeout=10000).wait()
    with qtbot.waitSignal(runner.finished, timeout=10000) as sig:
        runner.cancel()
    assert sig.args[0].status == "cancelled" and sig.args[0].value >= 1


def test_pause_blocks_should_stop_and_resume_goes_on(runner, qtbot):
    count = [0]

    def task(progress, should_stop):
        while not should_stop():
            count[0] += 1

    states = []
    runner.stateChanged.connect(states.append)
    runner.start(task)
    qtbot.waitUntil(lambda: count[0] > 0, timeout=10000)
    runner.pause()
    qtbot.waitUntil(lambda: runner.is_paused, timeout=10000)
    n = count[0]
    qtbot.wait(100)
    assert count[0] == n  # no step while paused
    qtbot.waitUntil(lambda: "paused" in states, timeout=10000)
    runner.resume()
    qtbot.waitUntil(lambda: count[0] > n, timeout=10000)
    assert runner.shutdown()
    assert states[0] == "running" and states[-1] == "idle"


def test_cancel_while_paused_ends_the_job(runner, qtbot):
    runner.start(lambda p, should_stop: [None for _ in iter(should_stop, True)])
    runner.pause()
    qtbot.waitUntil(lambda: runner.is_paused, timeout=10000)
    with qtbot.waitSignal(runner.finished, timeout=10000) as sig:
        runner.cancel()
    assert sig.args[0].status == "cancelled"


def test_call_in_worker_runs_on_the_worker_thread_even_while_paused(runner, qtbot):
    where = []
    runner.start(lambda p, should_stop: [None for _ in iter(should_stop, True)])
    runner.pause()
    qtbot.waitUntil(lambda: runner.is_paused, timeout=10000)
    runner.call_in_worker(lambda: where.append(threading.get_ident()))
    qtbot.waitUntil(lambda: bool(where), timeout=10000)
    assert where[0] != threading.get_ident()


def test_an_exception_is_reported_not_raised(runner, qtbot):
    def task(progress, should_stop):
        raise ValueError("bad input at pairs[2]")

    with qtbot.waitSignal(runner.finished, timeout=10000) as sig:
        runner.start(task)
    res = sig.args[0]
    assert res.status == "error" and res.error == "ValueError: bad input at pairs[2]"
    assert isinstance(res.exception, ValueError)


def test_shutdown_joins_and_reports_before_it_returns(runner, qtbot):
    results = []
    runner.finished.connect(results.append)
    runner.start(lambda p, should_stop: [None for _ in iter(should_stop, True)] and "ended")
    thread = runner.thread
    assert runner.shutdown()
    assert thread.isFinished() and len(results) == 1 and results[0].status == "cancelled"
    qtbot.wait(50)
    assert len(results) == 1  # the thread's own finished notice adds nothing later


def test_hold_waits_at_most_the_hold_limit(qtbot):
    r = JobRunner(name="held", hold_limit=0.01)
    count = [0]

    def task(progress, should_stop):
        while not should_stop():
            count[0] += 1

    r.hold()
    r.start(task)
    qtbot.waitUntil(lambda: count[0] > 2, timeout=10000)  # held, yet never stuck
    r.shutdown()


def test_gc_runs_on_the_gui_thread_only(runner, qtbot):
    """After the first job starts, automatic collection is off; the app's collector frees
    cyclic garbage on this (the GUI) thread."""
    install_gui_gc()
    collector = gui_gc()
    assert collector is not None and collector.timer.isActive() and not gc.isenabled()

    class Node:
        pass

    freed_on = []
    main = threading.get_ident()
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only a collection frees it
    weakref.finalize(a, lambda: freed_on.append(threading.get_ident()))
    del a, b
    keep = [Node() for _ in range(3 * collector.threshold[0])]  # past the young threshold
    # A worker allocating heavily would, with automatic GC on, collect the cycle itself.
    runner.start(lambda p, s: [[{} for _ in range(100)] for _ in range(300)] and None)
    qtbot.waitUntil(lambda: not runner.is_running, timeout=10000)
    assert freed_on in ([], [main])  # never on the worker
    # The collector collects what CPython would have by now: generation 0 first, an older
    # one only after enough younger collections. (Another collection may have moved the
    # cycle to an older generation before it became garbage; keep allocating, as a
    # running app does, until the generation holding it is due.)
    thr = collector.threshold
    for _ in range((thr[1] + 1) * (thr[2] + 1) + 1):
        collector.check()
        if freed_on:
            break
        keep.append([Node() for _ in range(thr[0] + 1)])
    assert freed_on == [main]
    del keep


def test_running_threads_lists_a_runners_thread_until_it_is_joined(runner, qtbot):
    """The suite's leak check (conftest) reads running_threads(): it must see a job's thread."""
    from widgets.jobs import running_threads

    gate = threading.Event()
    runner.start(lambda p, s: gate.wait(10))
    qtbot.waitUntil(lambda: len(running_threads()) == 1, timeout=5000)
    assert running_threads()[0] is runner.thread
    gate.set()
    qtbot.waitUntil(lambda: not runner.is_running, timeout=10000)
    assert running_threads() == []


def test_no_module_but_jobs_starts_a_qthread():
    """Every background task runs on widgets.jobs (issue 10), so running_threads() is every
    thread the app starts: no other module subclasses or creates a QThread."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = [f"{p.relative_to(root)}:{i}" for p in [*root.glob("widgets/*.py"), *root.glob("sandbox/*.py"),
                                                        root / "main.py"]
                 if p.name != "jobs.py"
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if "QThread(" in line or "(QThread)" in line]
    assert not offenders, offenders
