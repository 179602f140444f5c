"""The public report form and the reporter's follow-up portal."""

from flask import Blueprint

bp = Blueprint("intake", __name__)
