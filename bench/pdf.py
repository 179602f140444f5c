"""PDF render times: a typical case summary and a huge case, against plain-text WeasyPrint.

Run: .venv/bin/python bench/pdf.py [--runs N]

Prints median and 95th percentile per document (runs interleaved with the baseline's), after a
warm-up, in one process, and the ratio to WeasyPrint rendering the same number of pages of plain
paragraphs (no tables, default fetcher, no limits). Target: typical summary ≤ 2× the plain-text baseline.

The baseline is apples to apples: the same page size and margins and the same body font, size and
line height as pdf.css, so a "page of plain text" holds as much text as one of our pages could
(before, it used WeasyPrint's defaults — 12 pt serif, wider margins — 17 paragraphs for 3 pages, not 30).
It has no running headers or footers, tables, images or colours: those are what we measure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "pdf")]

import pdf_samples  # noqa: E402

from casework.pdf import metadata_title, render_pdf, warm_up  # noqa: E402

PARAGRAPH = (
    "On 14 February someone posted a screenshot of my class schedule in a group with a caption. "
    "Several people I do not know commented. I reported the post and it was taken down two days "
    "later, but copies are still circulating and I am afraid to go to the lab. "
) * 2


# The page box and body text of casework/static/pdf/pdf.css (@page and html), nothing else.
PLAIN_STYLE = (
    "@page { size: A4; margin: 22mm 15mm 20mm 15mm }"
    ' html { font-family: "Noto Sans", "DejaVu Sans", sans-serif; font-size: 9pt; line-height: 1.35 }'
    " body { margin: 0 }"
)


def plain_html(paragraphs: int) -> str:
    body = "".join(f"<p>{i}. {PARAGRAPH}</p>" for i in range(paragraphs))
    return f"<!doctype html><html><head><style>{PLAIN_STYLE}</style></head><body>{body}</body></html>"


def plain_pages(paragraphs: int) -> int:
    import weasyprint

    return len(weasyprint.HTML(string=plain_html(paragraphs)).render().pages)


def paragraphs_for(pages: int) -> int:
    """The number of paragraphs that fills exactly ``pages`` pages (most text that still fits)."""
    lo, hi = 1, 80 * pages
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if plain_pages(mid) <= pages:
            lo = mid
        else:
            hi = mid - 1
    return lo


def timed(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, tuple[float, float]]:
    """Median and p95 wall time of each function, the runs interleaved (a, b, c, a, b, c, ...) so a
    change in the machine's load hits every contender alike rather than whichever ran then."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    result = {}
    for name, values in times.items():
        values.sort()
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        result[name] = (statistics.median(values), p95)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="renders per typical document (huge: a quarter)")
    args = parser.parse_args()

    start = time.perf_counter()
    warm_up()
    print(f"warm-up (import + first render): {time.perf_counter() - start:.2f} s")
    import weasyprint

    cases = [
        ("typical case summary", pdf_samples.typical_context(), args.runs),
        ("huge case summary", pdf_samples.huge_context(), max(3, args.runs // 4)),
    ]
    for label, context, runs in cases:
        thumbs = pdf_samples.thumbnails_for(context.evidence)
        title = metadata_title(context.case.reference, context.document.title)

        def render(context=context, thumbs=thumbs, title=title):
            return render_pdf("pdf/case_summary.html", context, title=title, thumbnails=thumbs, time_limit=120)

        pages = render().page_count
        html = plain_html(paragraphs_for(pages))
        base_pages = len(weasyprint.HTML(string=html).render().pages)
        measured = timed(
            {
                "forked": render,
                # In-process, without the forked child: what the isolation costs.
                "inline": lambda context=context, thumbs=thumbs, title=title: render_pdf(
                    "pdf/case_summary.html",
                    context,
                    title=title,
                    thumbnails=thumbs,
                    time_limit=120,
                    isolation="inline",
                ),
                "plain": lambda html=html: weasyprint.HTML(string=html).write_pdf(),
            },
            runs,
        )
        (median, p95), (f_median, f_p95), (b_median, b_p95) = measured.values()
        print(
            f"{label}: {pages} pages  forked (default) median {median * 1000:.0f} ms  p95 {p95 * 1000:.0f} ms"
            f"  | inline (no fork) median {f_median * 1000:.0f} ms  p95 {f_p95 * 1000:.0f} ms"
            f"  | plain text {base_pages} pages median {b_median * 1000:.0f} ms  p95 {b_p95 * 1000:.0f} ms"
            f"  | ratio {median / b_median:.2f}x (inline {f_median / b_median:.2f}x)"
        )


if __name__ == "__main__":
    main()
