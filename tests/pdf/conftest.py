import sys
from pathlib import Path

# The PDF tests run without the Flask app; make `casework` and `pdf_samples` importable on their own.
HERE = Path(__file__).resolve().parent
for path in (str(HERE.parent.parent), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)
