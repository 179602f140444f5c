"""gunicorn.conf.py: each worker warms the PDF renderer as it starts, and outlives the PDF time limit."""

import runpy
from pathlib import Path

from casework import pdf

CONFIG = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


class FakeLog:
    def __init__(self):
        self.lines = []

    def info(self, message, *args):
        self.lines.append(("info", message % args))

    def warning(self, message, *args):
        self.lines.append(("warning", message % args))


class FakeServer:
    def __init__(self):
        self.log = FakeLog()


class FakeWorker:
    pid = 4242


def test_each_worker_warms_the_pdf_renderer_when_it_starts(monkeypatch):
    calls = []
    monkeypatch.setattr(pdf, "warm_up", lambda: calls.append("warm") or 0.4)
    settings = runpy.run_path(str(CONFIG))
    server = FakeServer()

    settings["post_fork"](server, FakeWorker())

    assert calls == ["warm"] and server.log.lines == [("info", "PDF renderer warm in worker 4242 (0.40 s)")]
    assert settings["bind"] == "127.0.0.1:5000"
    assert settings["timeout"] >= pdf.DEFAULT_TIME_LIMIT + 10


def test_a_worker_whose_warm_up_fails_still_serves_and_says_why(monkeypatch):
    def broken():
        raise OSError("no fonts")

    monkeypatch.setattr(pdf, "warm_up", broken)
    server = FakeServer()
    runpy.run_path(str(CONFIG))["post_fork"](server, FakeWorker())
    assert server.log.lines == [("warning", "PDF warm-up failed in worker 4242: OSError('no fonts')")]


def test_workers_bind_and_timeout_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CASEWORK_WORKERS", "5")
    monkeypatch.setenv("CASEWORK_BIND", "127.0.0.1:8000")
    monkeypatch.setenv("CASEWORK_WORKER_TIMEOUT", "5")  # below the PDF limit: raised to it plus the margin
    settings = runpy.run_path(str(CONFIG))
    assert (settings["workers"], settings["bind"]) == (5, "127.0.0.1:8000")
    assert settings["timeout"] == int(pdf.DEFAULT_TIME_LIMIT) + 30
