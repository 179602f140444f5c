"""HTML → PDF with WeasyPrint, locked down (DESIGN rule 6).

Public API::

    render_pdf(template_name, context, *, title, author="Casework", thumbnails=None,
               time_limit=60.0, max_bytes=25 MiB, max_pages=500, isolation="auto") -> RenderedPDF
    render_html(template_name, context, *, title, author) -> str   the autoescaped HTML, for previews
    RenderedPDF(data: bytes, sha256: str, page_count: int, requested_urls: tuple[str, ...])
    PDFRenderError                      every failure: limit exceeded, refused URL, bad template/context
    CaseworkURLFetcher(thumbnails)      the only fetcher WeasyPrint is given
    thumbnail_url(evidence_id) -> str   "thumb:<id>", for EvidenceItem.thumbnail_url
    metadata_title(reference, document_title) -> str   "OH-2026-00042 — Case summary"
    warm_up()                           import WeasyPrint and render one small document (gunicorn post_fork)

The context is plain data, described exactly in `casework.pdf_context` (`PDFContext`); templates
live in ``templates/pdf/`` and are rendered by a dedicated Jinja environment (autoescape on,
StrictUndefined), so no Flask app or request is needed.

What the fetcher serves: ``casework-static:<name>`` — a file directly inside
``casework/static/pdf/`` with an allowed extension — and ``thumb:<id>`` — PNG/JPEG bytes the
caller passed in ``thumbnails``. Everything else (http, https, ftp, file, data, relative URLs)
is refused, and a refused URL stops the render with `PDFRenderError`. Every URL asked for is
recorded in ``RenderedPDF.requested_urls``.

Limits: Jinja renders the HTML in this process; WeasyPrint then runs in a forked child
(``isolation="fork"``, the default on POSIX) that is SIGKILLed at the deadline or when its
output passes the size limit, so a runaway render can't hang or bloat the worker and leaves
nothing half-done behind. The child inherits the warm import, the font configuration with our
faces already open (`_font_config`, warmed by `warm_up`) and the parsed stylesheet, and
runs without cyclic GC (see `_render_in_child`); the fork costs a few ms (see bench/pdf.py).
It works from any thread; in a multi-threaded process a child that inherits a held lock would
deadlock, and the deadline kills it too.
``isolation="inline"`` (no fork, e.g. Windows) renders in-process and can only check the time
once it is done. An in-process SIGALRM timer was tried and rejected: interrupting WeasyPrint
mid-layout corrupted its caches for the next render. The page limit is checked after layout,
before the PDF is written; the size limit on the output.

PDF metadata carries only ``title`` and ``author`` (pass the reference and the product, never a
name), Creator "Casework" and Producer "WeasyPrint"; no keywords, subject or attachments.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import os
import pickle  # noqa: S403 — only between this process and its own forked child
import re
import select
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from markupsafe import Markup, escape

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static" / "pdf"
TEMPLATES_DIR = PACKAGE_DIR.parent / "templates"

STATIC_SCHEME = "casework-static"
THUMB_SCHEME = "thumb"
BASE_URL = f"{STATIC_SCHEME}:"
PRODUCT = "Casework"

DEFAULT_TIME_LIMIT = 60.0  # seconds: the huge case (41 pages) took ~27 s on a loaded 2-core box
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_PAGES = 500
MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024

_STATIC_TYPES = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
}
_THUMB_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class PDFRenderError(Exception):
    """A PDF could not be rendered: a limit was exceeded, a URL refused, or the input was bad."""

    def __init__(self, message: str, requested_urls: tuple[str, ...] = ()):
        super().__init__(message)
        self.requested_urls = requested_urls


class URLRefused(ValueError):
    """The fetcher refused a URL outside the allow-list."""


@dataclass(frozen=True)
class RenderedPDF:
    data: bytes
    sha256: str
    page_count: int
    requested_urls: tuple[str, ...] = ()


def thumbnail_url(evidence_id: object) -> str:
    """The URL under which the thumbnail of evidence ``evidence_id`` is passed to `render_pdf`."""
    return f"{THUMB_SCHEME}:{evidence_id}"


def metadata_title(reference: str, document_title: str) -> str:
    """The PDF /Title: the case reference and the document kind, nothing personal."""
    return f"{reference} — {document_title}"


# --- the URL fetcher ---------------------------------------------------------------------------

_static_cache: dict[str, tuple[bytes, str]] = {}


def _static_file(name: str) -> tuple[bytes, str]:
    if name not in _static_cache:
        # Only names of files directly in STATIC_DIR: no "..", no subfolders, no symlink games.
        allowed = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file() and p.suffix in _STATIC_TYPES}
        if name not in allowed:
            raise URLRefused(f"no bundled PDF asset named {name!r}")
        path = allowed[name]
        _static_cache[name] = (path.read_bytes(), _STATIC_TYPES[path.suffix])
    return _static_cache[name]


def _sniff_thumbnail(data: bytes) -> str | None:
    for magic, media_type in _THUMB_MAGIC.items():
        if data.startswith(magic):
            return media_type
    return None


def _load_weasyprint():
    import weasyprint  # noqa: F401 — imported lazily: ~0.4 s, paid in warm_up()
    from weasyprint.urls import URLFetcher

    return weasyprint, URLFetcher


def _make_fetcher_class():
    _, url_fetcher_base = _load_weasyprint()
    from weasyprint.urls import URLFetcherResponse

    class CaseworkURLFetcher(url_fetcher_base):
        """Serves bundled static files and caller-supplied thumbnails; refuses everything else."""

        def __init__(self, thumbnails: Mapping[str, bytes] | None = None):
            # No protocol allowed and no redirects, should the base class ever be reached;
            # fail_on_errors turns any refusal into FatalURLFetchingError, which stops the render.
            super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=True)
            self.thumbnails = {str(k): v for k, v in (thumbnails or {}).items()}
            self.requested: list[str] = []

        def fetch(self, url, headers=None):
            self.requested.append(url)
            scheme, sep, rest = url.partition(":")
            if sep and scheme == STATIC_SCHEME:
                body, media_type = _static_file(rest)
            elif sep and scheme == THUMB_SCHEME and rest in self.thumbnails:
                body = self.thumbnails[rest]
                media_type = _sniff_thumbnail(body)
                if media_type is None or len(body) > MAX_THUMBNAIL_BYTES:
                    raise URLRefused(f"thumbnail {rest!r} is not a PNG/JPEG under 2 MB")
            else:
                raise URLRefused(f"URL not allowed in a PDF: {url[:200]!r}")
            return URLFetcherResponse(url, body, {"Content-Type": media_type})

        def open(self, url, data=None, timeout=None):
            # Never let urllib's OpenerDirector machinery (and its handlers) run.
            return self.fetch(getattr(url, "full_url", url))

    CaseworkURLFetcher.__module__ = __name__
    return CaseworkURLFetcher


def __getattr__(name: str):
    # `CaseworkURLFetcher` subclasses WeasyPrint's URLFetcher; importing WeasyPrint takes ~0.4 s,
    # so the class is built on first use (PEP 562) rather than whenever casework.pdf is imported.
    if name == "CaseworkURLFetcher":
        if "CaseworkURLFetcher" not in globals():
            globals()["CaseworkURLFetcher"] = _make_fetcher_class()
        return globals()["CaseworkURLFetcher"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _new_fetcher(thumbnails):
    return __getattr__("CaseworkURLFetcher")(thumbnails)


# --- Jinja -------------------------------------------------------------------------------------


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _zone(name: str):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _fmt_local(value, tz: str = "UTC") -> str:
    """A datetime in the document's zone, to the minute, with the zone's abbreviation."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        local = _as_utc(value).astimezone(_zone(tz))
        return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or tz)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _fmt_utc(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return _as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")
    return _fmt_local(value)


def _fmt_day(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _fmt_size(size: int | None) -> str:
    """1536 -> "1.5 KB"; under 1 KB in bytes."""
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.1f} {unit}"
        value /= 1024
    return str(size)  # pragma: no cover


def _thousands(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _fmt_hash(value: str | None, group: int = 16) -> Markup:
    """A full hash, with break opportunities every ``group`` characters (nothing is elided).

    The breaks are zero-width spaces, not ``<wbr>`` elements (each element costs a styled box);
    pdftotext and copy-paste drop them, so the hash stays one searchable string.
    """
    if not value:
        return Markup("—")
    text = str(value)
    parts = [escape(text[i : i + group]) for i in range(0, len(text), group)]
    return Markup("\u200b").join(parts)


def _paragraphs(text: str | None) -> list[str]:
    """Split plain text into paragraphs on blank lines; single line breaks stay (CSS pre-line)."""
    if not text:
        return []
    blocks = [b.strip("\n") for b in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n\n")]
    return [b for b in blocks if b.strip()]


def _yes_no(value) -> str:
    return "Unknown" if value is None else ("Yes" if value else "No")


def _or_dash(value) -> str:
    return "—" if value is None or value == "" else value


_ENV: jinja2.Environment | None = None


def jinja_env() -> jinja2.Environment:
    """The PDF templates' own environment: autoescape everything, fail on any missing key."""
    global _ENV
    if _ENV is None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        env.filters.update(
            when=_fmt_local,
            utc=_fmt_utc,
            day=_fmt_day,
            filesize=_fmt_size,
            thousands=_thousands,
            hash_breaks=_fmt_hash,
            paragraphs=_paragraphs,
            yes_no=_yes_no,
            or_dash=_or_dash,
        )
        _ENV = env
    return _ENV


def _template_vars(context) -> dict:
    if dataclasses.is_dataclass(context) and not isinstance(context, type):
        data = {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
    elif isinstance(context, Mapping):
        data = dict(context)
    else:
        raise PDFRenderError("PDF context must be a PDFContext (or a mapping with the same keys)")
    for key in ("document", "case", "audience"):
        if data.get(key) is None:
            raise PDFRenderError(f"PDF context lacks {key!r}")
    return data


def render_html(template_name: str, context, *, title: str, author: str = PRODUCT) -> str:
    """Our template, rendered with the plain-data context (autoescaped)."""
    if not template_name.startswith("pdf/") or ".." in template_name:
        raise PDFRenderError(f"not a PDF template: {template_name!r}")
    data = _template_vars(context)
    data.update(pdf_title=title, pdf_author=author, product=PRODUCT)
    try:
        return jinja_env().get_template(template_name).render(data)
    except jinja2.TemplateError as exc:
        raise PDFRenderError(f"PDF template {template_name} failed: {exc}") from exc


# A line break and indentation between two tags of our templates. Never in data: autoescape turns
# every "<" and ">" of a value into an entity.
_LAYOUT_WHITESPACE = re.compile(r">\n[ \t\n]*<")


def _compact(html: str) -> str:
    """Drop the templates' indentation between tags: each whitespace run becomes a text box that
    WeasyPrint styles and lays out before collapsing it (~8% of a typical render). A line break
    in our templates only ever separates block-level elements, where it prints nothing anyway."""
    return _LAYOUT_WHITESPACE.sub("><", html)


# --- limits ------------------------------------------------------------------------------------


def _render_in_child(job: Callable[[], RenderedPDF], time_limit: float, max_bytes: int, deadline: float) -> RenderedPDF:
    """Run ``job`` in a forked child; kill it at the deadline or when its output grows too big.

    The child inherits the warm WeasyPrint import, fonts and parsed stylesheet; whatever a killed
    render leaves half-done dies with it. (Interrupting WeasyPrint in-process with a signal was
    tried and left its caches corrupt for the next render.)
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render, send the result or the error, and leave without cleanup
        # No cyclic GC in this one-shot process: a collection walks every object inherited from the
        # parent, and touching them copies their pages (copy-on-write) — ~15% of a typical render.
        # WeasyPrint makes little cyclic garbage (huge case: 185 MB peak vs 179 MB with GC), and
        # all of it goes at os._exit.
        gc.disable()
        status = 0
        try:
            os.close(read_fd)
            try:
                payload = pickle.dumps(("ok", job()))
            except PDFRenderError as exc:
                payload = pickle.dumps(("error", str(exc), exc.requested_urls))
            except BaseException as exc:  # noqa: BLE001 — anything, reported to the parent
                payload = pickle.dumps(("error", f"PDF rendering failed: {exc!r}", ()))
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(payload)
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)

    os.close(write_fd)
    chunks: list[bytes] = []
    received = 0
    killed_because = None
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                killed_because = f"PDF rendering took longer than the {time_limit:g} s limit"
                break
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
            if received > max_bytes + (1 << 20):
                killed_because = f"PDF is larger than the {max_bytes:,}-byte limit"
                break
    finally:
        os.close(read_fd)
        if killed_because:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    if killed_because:
        raise PDFRenderError(killed_because)
    try:
        result = pickle.loads(b"".join(chunks))  # noqa: S301 — our own child's output
    except Exception as exc:
        raise PDFRenderError("PDF rendering process died without a result") from exc
    if result[0] == "ok":
        return result[1]
    raise PDFRenderError(result[1], result[2])


# --- rendering ---------------------------------------------------------------------------------


_STYLESHEET = None


def _stylesheet():
    """pdf.css, parsed once per process (saves ~20 ms a render); it comes through the same fetcher."""
    global _STYLESHEET
    if _STYLESHEET is None:
        weasyprint, _ = _load_weasyprint()
        _STYLESHEET = weasyprint.CSS(url=f"{STATIC_SCHEME}:pdf.css", url_fetcher=_new_fetcher(None))
    return _STYLESHEET


_FONT_CONFIGS = threading.local()


def _font_config():
    """WeasyPrint's font configuration (fontconfig and a Pango font map), made once per thread.

    Without one, WeasyPrint builds a new configuration for every document: it reloads fontconfig and
    opens, matches and measures every face and size again — ~75 ms, a fifth of a typical summary.
    Kept warm here, a forked child inherits the faces already open. One per thread because a Pango
    font map is not thread-safe; we never add ``@font-face`` fonts, so nothing leaks between documents.
    """
    font_config = getattr(_FONT_CONFIGS, "value", None)
    if font_config is None:
        _load_weasyprint()
        from weasyprint.text.fonts import FontConfiguration

        font_config = _FONT_CONFIGS.value = FontConfiguration()
    return font_config


def _render(html: str, fetcher, *, title: str, author: str, max_pages: int, max_bytes: int) -> RenderedPDF:
    weasyprint, _ = _load_weasyprint()
    from weasyprint.pdf.metadata import DocumentMetadata
    from weasyprint.urls import FatalURLFetchingError

    def refused(exc: BaseException) -> PDFRenderError:
        cause = exc.__cause__ or exc
        return PDFRenderError(f"PDF rendering stopped: {cause}", tuple(fetcher.requested))

    try:
        html_doc = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
        document = html_doc.render(stylesheets=[_stylesheet()], font_config=_font_config())
        page_count = len(document.pages)
        if page_count > max_pages:
            raise PDFRenderError(
                f"PDF would have {page_count} pages, more than the {max_pages}-page limit",
                tuple(fetcher.requested),
            )
        # Only what we choose goes into the document information: no keywords, subject,
        # attachments, dates or custom fields, whatever the HTML said.
        document.metadata = DocumentMetadata(title=title, authors=[author], generator=PRODUCT, lang="en")
        data = document.write_pdf()
    except FatalURLFetchingError as exc:
        raise refused(exc) from None
    if len(data) > max_bytes:
        raise PDFRenderError(
            f"PDF is {len(data):,} bytes, larger than the {max_bytes:,}-byte limit", tuple(fetcher.requested)
        )
    return RenderedPDF(data, hashlib.sha256(data).hexdigest(), page_count, tuple(fetcher.requested))


def render_pdf(
    template_name: str,
    context,
    *,
    title: str,
    author: str = PRODUCT,
    thumbnails: Mapping[str | int, bytes] | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int = DEFAULT_MAX_PAGES,
    isolation: str = "auto",
) -> RenderedPDF:
    """Render ``templates/<template_name>`` with ``context`` to PDF bytes, within the limits.

    ``thumbnails`` maps evidence ids to PNG/JPEG bytes we generated; the template addresses them
    as ``thumb:<id>``. ``title``/``author`` become the PDF metadata: pass
    ``metadata_title(reference, "Case summary")`` and the product name, nothing personal.
    Raises `PDFRenderError` on any failure.
    """
    if isolation == "auto":
        isolation = "fork" if hasattr(os, "fork") else "inline"
    if isolation not in ("fork", "inline"):
        raise ValueError(f"isolation must be 'auto', 'fork' or 'inline', not {isolation!r}")

    started = time.monotonic()
    # In this process: cheap, bounded by the input, and keeps Jinja's compiled templates warm.
    html = _compact(render_html(template_name, context, title=title, author=author))
    _stylesheet()
    _font_config()  # made (and warm) here, so that a forked child inherits it
    fetcher = _new_fetcher(thumbnails)

    def job() -> RenderedPDF:
        return _render(html, fetcher, title=title, author=author, max_pages=max_pages, max_bytes=max_bytes)

    if isolation == "fork":
        return _render_in_child(job, time_limit, max_bytes, deadline=started + time_limit)
    result = job()  # inline: can't be interrupted; the limit is checked once it is done
    if time.monotonic() - started > time_limit:
        raise PDFRenderError(f"PDF rendering took longer than the {time_limit:g} s limit", result.requested_urls)
    return result


def warm_up() -> float:
    """Import WeasyPrint, parse the stylesheet, compile the templates and render a small case summary
    with one row in every section in this process, so the font configuration has every face and size
    of our documents open (see `_font_config`) and forked renders start warm. Returns the seconds taken.

    Call it once per gunicorn worker (``post_fork``) so the first user doesn't wait ~0.5 s.
    """
    from casework.pdf_context import (
        Audience,
        CaseInfo,
        DocumentInfo,
        EvidenceItem,
        Note,
        Party,
        PDFContext,
        Referral,
        ReporterInfo,
        TimelineEvent,
        Verification,
    )

    started = time.monotonic()
    now = datetime.now(UTC)
    context = PDFContext(
        document=DocumentInfo("case_summary", "Case summary", PRODUCT, now),
        case=CaseInfo("OH-0000-00000", "Received", "EOA", now, urgent=True),
        audience=Audience("Warm-up", show_reporter_identity=True),
        reporter=ReporterInfo("Warm-up", "warm-up@example.edu"),
        narrative="Warm-up. Кириллица. العربية. 中文. 한국어.",
        parties=[Party("Witness", "Warm-up", "@warm_up", "Other")],
        platforms=["Other"],
        behaviours=["Other"],
        links=["https://example.edu/warm-up"],
        evidence=[EvidenceItem(0, "warm-up.txt", "text/plain", 2048, now, "0" * 64, description="Warm-up")],
        timeline=[TimelineEvent(now, "System", "Warm-up", "Received", "Received", "Warm-up")],
        notes=[Note(now, "System", "Internal", "Warm-up")],
        referral=Referral("EOA", "Warm-up", now),
        verification=Verification(True, 0, "Warm-up"),
    )
    for name in ("pdf/referral_packet.html", "pdf/audit_history.html"):
        jinja_env().get_template(name)
    render_pdf("pdf/case_summary.html", context, title="Warm-up", isolation="inline")
    return time.monotonic() - started
