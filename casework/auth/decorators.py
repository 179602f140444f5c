"""The coarse gate on a route: signed in, and one of these roles."""

from collections.abc import Callable
from functools import wraps

from flask import abort, request
from flask_login import current_user, login_required


def role_required(*roles: str) -> Callable:
    """Allow only signed-in users with one of `roles`; everyone else gets 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # read by the access-matrix test
        return wrapped

    return decorator


def reauth_required(view: Callable | None = None, *, methods: tuple[str, ...] | None = None) -> Callable:
    """Ask for the password (and the second factor, where enrolled) again unless the user gave them
    within the last REAUTH_WINDOW (10 minutes by default). Use it under `role_required`, before account
    administration, exports and purges: `@reauth_required` or `@reauth_required(methods=("POST",))`.

    A GET is sent to the confirmation page and back. A POST is answered with the confirmation page,
    which carries the submitted fields along, so nothing typed is lost (uploaded files are not carried:
    don't use it on upload routes).
    """

    def decorator(inner: Callable) -> Callable:
        @wraps(inner)
        @login_required
        def wrapped(*args, **kwargs):
            from casework.auth.reauth import ask_for_identity

            if methods is None or request.method in methods:
                answer = ask_for_identity()
                if answer is not None:
                    return answer
            return inner(*args, **kwargs)

        wrapped.reauth_required = True
        return wrapped

    return decorator(view) if view is not None else decorator
