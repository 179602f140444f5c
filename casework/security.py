"""HTTP hardening: security headers on every response, no caching of anything but static files.

The Content-Security-Policy allows no inline script or style and no third-party origin, so a
template with a `style=` attribute or an inline `<script>` breaks in the browser: keep styles in
`static/css/` and scripts (if any) in `static/js/`.
"""

from flask import Flask, Request, Response, request
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

HSTS = "max-age=63072000; includeSubDomains"

STATIC_ENDPOINTS = frozenset({"static"})


def security_headers(response: Response, *, hsts: bool) -> Response:
    """Add the security headers to a response, keeping any a view set on purpose."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    if hsts:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint not in STATIC_ENDPOINTS:
        # Staff pages, the follow-up portal and every form carry personal data or a CSRF token:
        # nothing but static files may be kept by a browser or a proxy.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
        headers.pop("Expires", None)
        headers.pop("ETag", None)
        headers.pop("Last-Modified", None)
    return response


# The largest id the database stores (a PostgreSQL INTEGER). A larger number in a URL is a 404, not a 500.
MAX_DATABASE_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` limited to the range of a database id."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(url_map, *args, **kwargs)


class CaseworkRequest(Request):
    """A request whose form and query never hold a NUL byte, nor a form field without a name.

    A NUL byte has no place in any text a person types, and PostgreSQL refuses it in text, even as a query
    parameter (the request would end in an error): it is dropped from every name and value.
    A multipart part without a `name` reaches Werkzeug's form as the key None, which form libraries
    (WTForms' FieldList, for one) expect to be a string: such a part is dropped, as no form asked for it.
    """

    @cached_property
    def args(self) -> MultiDict[str, str]:
        return _without_nul(super().args)

    def _load_form_data(self) -> None:
        super()._load_form_data()
        for attribute in ("form", "files"):
            data = self.__dict__.get(attribute)
            if data is not None and None in data:
                if attribute == "files":
                    for upload in data.getlist(None):
                        upload.close()  # request.close() only closes the files it still holds
                self.__dict__[attribute] = data = type(data)((k, v) for k, v in data.items(multi=True) if k is not None)
            if attribute == "form" and data is not None:
                self.__dict__[attribute] = _without_nul(data)


def _without_nul(data: MultiDict) -> MultiDict:
    if not any("\x00" in key or "\x00" in value for key, value in data.items(multi=True)):
        return data
    return type(data)((key.replace("\x00", ""), value.replace("\x00", "")) for key, value in data.items(multi=True))


def register_security(app: Flask) -> None:
    """Attach the security headers to every response of `app`; bound `<int:>` URL parts to database ids;
    drop nameless form parts.

    Call it before the blueprints are registered (the converter applies to rules added afterwards).
    """
    app.request_class = CaseworkRequest
    app.url_map.converters["int"] = DatabaseIdConverter
    hsts = bool(app.config.get("SECURITY_HSTS"))

    @app.after_request
    def _add_security_headers(response: Response) -> Response:
        return security_headers(response, hsts=hsts)
