"""gunicorn settings for Casework: `gunicorn -c gunicorn.conf.py wsgi:app` (`make run` and production).

Command-line options and GUNICORN_CMD_ARGS override these; the environment variables below set them.
"""

import os

from casework.pdf import DEFAULT_TIME_LIMIT

bind = os.environ.get("CASEWORK_BIND", "127.0.0.1:5000")  # behind a reverse proxy, never on a public address
workers = int(os.environ.get("CASEWORK_WORKERS", "2"))
# A PDF may take up to its time limit (its render is killed then); the worker must outlive that, with a margin
# for building the document and answering, or gunicorn would kill a worker that is still doing its job.
timeout = max(int(os.environ.get("CASEWORK_WORKER_TIMEOUT", "0") or 0), int(DEFAULT_TIME_LIMIT) + 30)
graceful_timeout = 30
accesslog = os.environ.get("CASEWORK_ACCESS_LOG", "-")
# Time, method, path, protocol, status, size and duration: no query string (a case search's words travel in it),
# no referrer, no user agent and no client address (a reporter's visit must not be traceable from the log).
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'


def post_fork(server, worker):
    """Import WeasyPrint and render one small document in each new worker (~0.5 s), so no user waits for it."""
    from casework import pdf

    try:
        seconds = pdf.warm_up()
    except Exception as error:  # a missing font or library must not keep the worker from serving pages
        server.log.warning("PDF warm-up failed in worker %s: %r", worker.pid, error)
    else:
        server.log.info("PDF renderer warm in worker %s (%.2f s)", worker.pid, seconds)
