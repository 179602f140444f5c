"""Entry point for gunicorn (`gunicorn wsgi:app`) and `flask --app wsgi`."""

import gc

from casework import create_app

app = create_app()

# The objects made so far (the app, its models, workflows, templates environment, the PDF renderer warmed in
# post_fork) live as long as the worker. Frozen, the collector stops walking them: a full collection otherwise
# walked ~120,000 objects and paused a worker for ~50 ms every few hundred requests, which every request queued
# behind it waited out.
gc.collect()
gc.freeze()
