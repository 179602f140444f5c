"""Staff side: queues, the case page, transitions, notes, evidence, referrals."""

from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/cases")
