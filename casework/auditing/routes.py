"""The auditor's workspace: the trail, verification, exports."""

from flask import Blueprint

bp = Blueprint("auditing", __name__, url_prefix="/audit")
