"""consum.io.preemption: a stop signal is recorded, not obeyed, until the stage's loop says where to stop;
then the old handler gets it, the SLURM job is requeued on a warning signal (SIGUSR1/SIGUSR2) only,
and the process exits with 128 + the signal's number."""

import os
import signal
import stat
import threading

import pytest

from consum.io.preemption import Preempted, StopSignals, exit_status, requeue, should_requeue


def test_a_signal_is_recorded_and_the_old_handlers_come_back():
    seen = []
    before = signal.signal(signal.SIGUSR1, lambda s, f: seen.append(s))
    try:
        with StopSignals(echo=lambda text: None) as stop:
            assert not stop.requested and not stop.agreed()
            os.kill(os.getpid(), signal.SIGUSR1)
            os.kill(os.getpid(), signal.SIGTERM)  # the process lives on: only recorded
            os.kill(os.getpid(), signal.SIGUSR1)
            assert stop.received == [signal.SIGUSR1, signal.SIGTERM]
            assert stop.signum == signal.SIGUSR1
            assert stop.requested and stop.agreed()
        assert seen == []  # the old handler did not run while ours was installed
        os.kill(os.getpid(), signal.SIGUSR1)
        assert seen == [signal.SIGUSR1]
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGUSR1, before)


def test_outside_the_main_thread_nothing_is_installed():
    handlers = {}

    def body():
        with StopSignals() as stop:
            handlers["term"] = signal.getsignal(signal.SIGTERM)
            handlers["installed"] = dict(stop._previous)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert handlers == {"term": signal.SIG_DFL, "installed": {}}


def test_a_warning_signal_wins_over_the_sigterm_before_it():
    """submitit's preemption: SIGTERM, then SIGUSR2; the job must be requeued (SIGUSR2's handler)."""
    with StopSignals(echo=lambda text: None) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.signum == signal.SIGTERM
        os.kill(os.getpid(), signal.SIGUSR2)
        assert stop.signum == signal.SIGUSR2


def test_exit_status_is_128_plus_the_signal(monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    with pytest.raises(Preempted) as raised, StopSignals(echo=lambda text: None) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        stop.exit(is_main=True, what="test")
    assert raised.value.code == exit_status(signal.SIGTERM) == 143
    assert isinstance(raised.value, SystemExit)  # uncaught, the interpreter exits with that status
    assert "SIGTERM" in str(raised.value)


def test_the_previous_python_handler_gets_the_signal_first(monkeypatch):
    """submitit installs its own SIGUSR2 handler (requeue + sys.exit): it runs after our checkpoint."""
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    calls = []
    before = signal.signal(signal.SIGUSR2, lambda s, f: calls.append(s))
    try:
        with pytest.raises(Preempted) as raised, StopSignals(echo=lambda text: None) as stop:
            os.kill(os.getpid(), signal.SIGUSR2)
            assert calls == []
            stop.exit(is_main=True, what="test")
        assert calls == [signal.SIGUSR2] and raised.value.code == 140
    finally:
        signal.signal(signal.SIGUSR2, before)


@pytest.fixture
def fake_scontrol(tmp_path, monkeypatch):
    """An ``scontrol`` on PATH that records its arguments."""
    log = tmp_path / "scontrol.log"
    script = tmp_path / "bin" / "scontrol"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.delenv("CONSUM_REQUEUE", raising=False)
    return log


@pytest.mark.parametrize("signum, is_main, requeued", [
    (signal.SIGUSR1, True, True),    # SLURM's warning before the time limit: come back
    (signal.SIGUSR1, False, False),  # only the main process requeues
    (signal.SIGTERM, True, False),   # scancel / preemption: SLURM decides, we do not undo a cancel
])
def test_requeue_under_slurm_on_a_warning_signal_from_the_main_process(
    fake_scontrol, signum, is_main, requeued
):
    with pytest.raises(Preempted), StopSignals(echo=lambda text: None) as stop:
        os.kill(os.getpid(), signum)
        stop.exit(is_main=is_main, what="test")
    log = fake_scontrol.read_text() if fake_scontrol.exists() else ""
    assert log == ("requeue 4242\n" if requeued else "")


def test_consum_requeue_0_turns_requeue_off(fake_scontrol, monkeypatch):
    monkeypatch.setenv("CONSUM_REQUEUE", "0")
    with pytest.raises(Preempted), StopSignals(echo=lambda text: None) as stop:
        os.kill(os.getpid(), signal.SIGUSR1)
        stop.exit(is_main=True, what="test")
    assert not fake_scontrol.exists()
    assert not should_requeue({"SLURM_JOB_ID": "1", "CONSUM_REQUEUE": "0"})


def test_a_failing_scontrol_is_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no scontrol at all
    said = []
    assert requeue("7", echo=said.append) is False
    assert "could not requeue SLURM job 7" in said[-1]
