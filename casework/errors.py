"""Error pages that say what went wrong in plain words and reveal nothing else."""

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: ("Something in that request was not right", "Go back, check the form and try again."),
    403: ("You may not do that", "Your role does not allow this action."),
    404: ("Page not found", "There is nothing here, or you may not see it."),
    405: ("Not allowed", "That page does not accept this kind of request."),
    409: ("Someone else changed this first", "Reload the page to see the latest version."),
    413: ("That upload is too large", "Send smaller files, or fewer at once."),
    429: ("Too many attempts", "Please wait a few minutes before trying again."),
    500: ("Something went wrong on our side", "Nothing you typed was shared. Please try again shortly."),
    503: ("Not available just now", "Please try again in a moment."),
}


def render_error(code: int, detail: str | None = None):
    title, hint = MESSAGES.get(code, ("Something went wrong", ""))
    return render_template("errors/error.html", code=code, title=title, hint=detail or hint), code


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.response is not None:  # a page made for this case, e.g. a rate-limited form kept with its text
            return error.response
        return render_error(error.code or 500)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, "The form expired or was sent from elsewhere. Reload the page and try again.")

    @app.errorhandler(500)
    def server_error(error):
        return render_error(500)
