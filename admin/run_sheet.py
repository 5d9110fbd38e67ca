"""A delivery company's run sheet on paper: the day's stops as `/runs` shows them, as HTML or an A4 PDF.

One list of blocks (`sheet`) feeds both renderings, so the printed sheet says what the chat says. It holds
what the company's couriers may see now (checkout/drops.py): a drop delivered longer ago than the grace
period shows its postal code only. The PDF is drawn with cairo, the library cairosvg draws the QR-bills
with, page by page (an SVG is a single page). Heavy imports stay inside the functions that need them.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from string import Template

from checkout.runs import Run, Stop
from marketplace.i18n import format_chf, format_number, translate, unit_label


@dataclass(frozen=True)
class Line:
    text: str
    link: str = ""  # where the line leads in the HTML sheet: the map, a tap-to-call number


@dataclass(frozen=True)
class Block:
    """One stop, ready to print: a heading and its lines."""

    number: int
    heading: str
    lines: tuple[Line, ...]
    done: bool


@dataclass(frozen=True)
class Sheet:
    title: str
    note: str
    blocks: tuple[Block, ...]
    empty: str  # said when there is no stop


def _items(stop: Stop, lang: str) -> str:
    return ", ".join(f"{format_number(i.quantity, lang)} {unit_label(i.unit, lang)} {i.name}" for i in stop.items)


def _block(number: int, stop: Stop, lang: str) -> Block:
    key = "runsheet.pickup" if stop.kind == "pickup" else "runsheet.drop"
    heading = translate(key, lang, order=stop.order, slot=stop.slot)
    address = stop.address
    lines: list[Line] = []
    if address is not None and address.shown:
        lines += [Line(address.recipient), Line(f"{address.street}, {address.place}", address.map)]
        lines.append(Line(address.details))
        if address.phone:
            lines.append(Line(translate("runsheet.phone", lang, phone=address.phone_e164), address.tel))
    else:
        lines.append(Line(stop.where))
    lines.append(Line(_items(stop, lang)))
    if stop.collect:
        lines.append(Line(translate("command.runs.collect", lang, amount=format_chf(stop.collect, lang))))
    return Block(number, heading, tuple(line for line in lines if line.text), stop.done)


def sheet(run: Run, lang: str) -> Sheet:
    day = run.day.isoformat()
    return Sheet(
        title=translate("runsheet.title", lang, company=run.company, day=day),
        note=translate("runsheet.confidential", lang),
        blocks=tuple(_block(number, stop, lang) for number, stop in enumerate(run.stops, 1)),
        empty=translate("command.runs.none", lang, day=day),
    )


# --- HTML ----------------------------------------------------------------------------------------------

PAGE = Template("""<!DOCTYPE html>
<html lang="$lang">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<title>$title</title>
<style>
  @page { size: A4; margin: 15mm; }
  body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 11pt; margin: 0 auto; max-width: 180mm; }
  h1 { font-size: 16pt; margin: 0 0 4pt; }
  .note { font-size: 9pt; margin: 0 0 10pt; }
  ol { list-style: none; padding: 0; margin: 0; }
  li { border-top: 1px solid #888; padding: 6pt 0; break-inside: avoid; page-break-inside: avoid; }
  .stop { font-weight: bold; }
  .box { display: inline-block; width: 1.2em; }
  .done { color: #666; }
  a { color: inherit; }
</style>
</head>
<body>
<h1>$title</h1>
<p class="note">$note</p>
$body
</body>
</html>
""")


def _html_line(line: Line) -> str:
    text = html.escape(line.text)
    return f'<div><a href="{html.escape(line.link)}">{text}</a></div>' if line.link else f"<div>{text}</div>"


def _html_block(block: Block, lang: str) -> str:
    box = "☑" if block.done else "☐"
    done = f" ({html.escape(translate('runsheet.done', lang))})" if block.done else ""
    lines = "\n".join(_html_line(line) for line in block.lines)
    css = ' class="done"' if block.done else ""
    heading = f'<span class="box">{box}</span>{block.number}. {html.escape(block.heading)}{done}'
    return f'<li{css}><div class="stop">{heading}</div>\n{lines}</li>'


def render_html(run: Run, lang: str) -> str:
    """The run sheet as one HTML page (links: tap-to-call, the map), every value escaped."""
    page = sheet(run, lang)
    if page.blocks:
        body = "<ol>\n" + "\n".join(_html_block(b, lang) for b in page.blocks) + "\n</ol>"
    else:
        body = f"<p>{html.escape(page.empty)}</p>"
    return PAGE.substitute(
        lang=html.escape(lang), title=html.escape(page.title), note=html.escape(page.note), body=body
    )


# --- PDF -----------------------------------------------------------------------------------------------

A4 = (595.0, 842.0)  # points
MARGIN = 42.0
FONT = "DejaVu Sans"
SIZES = {"title": 15.0, "note": 8.5, "heading": 11.0, "line": 10.0, "footer": 8.0}
LEADING = 1.35
BOX = 9.0  # the tick box before each stop
INDENT = 18.0


@dataclass(frozen=True)
class _Text:
    x: float
    y: float
    text: str
    style: str


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    done: bool


def _wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Words to lines no wider than `width`; a word wider than a line is cut by characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while measure(word) > width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and measure(word[:cut]) > width:
                cut -= 1
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{current} {word}".strip()
        if current and measure(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines or [""]


def _style(context, style: str) -> None:  # type: ignore[no-untyped-def]
    import cairocffi as cairo

    bold = style in ("title", "heading")
    context.select_font_face(
        FONT, cairo.FONT_SLANT_NORMAL, cairo.FONT_WEIGHT_BOLD if bold else cairo.FONT_WEIGHT_NORMAL
    )
    context.set_font_size(SIZES[style])


def _layout(page: Sheet, context) -> list[list[_Text | _Box]]:  # type: ignore[no-untyped-def]
    """Every text and box placed on A4 pages; a stop is never cut across two pages (unless longer than one)."""
    width, height = A4
    bottom = height - MARGIN - SIZES["footer"] * 2

    def measure_in(style: str) -> Callable[[str], float]:
        def measure(text: str) -> float:
            _style(context, style)
            return context.text_extents(text)[4]  # x_advance

        return measure

    def paragraph(text: str, style: str, x: float) -> list[tuple[str, str, float]]:
        return [(line, style, x) for line in _wrap(text, width - MARGIN - x, measure_in(style))]

    header = paragraph(page.title, "title", MARGIN) + paragraph(page.note, "note", MARGIN)
    chunks: list[tuple[bool | None, list[tuple[str, str, float]]]] = [(None, header)]
    if not page.blocks:
        chunks.append((None, paragraph(page.empty, "line", MARGIN)))
    for block in page.blocks:
        lines = paragraph(f"{block.number}. {block.heading}", "heading", MARGIN + INDENT)
        for line in block.lines:
            lines += paragraph(line.text, "line", MARGIN + INDENT)
        chunks.append((block.done, lines))

    pages: list[list[_Text | _Box]] = [[]]
    y = MARGIN
    for done, lines in chunks:
        needed = sum(SIZES[style] * LEADING for _, style, _ in lines) + 6
        if y + needed > bottom and pages[-1]:
            pages.append([])
            y = MARGIN
        y += 6  # space between stops
        if done is not None:
            pages[-1].append(_Box(MARGIN, y, done))
        for text, style, x in lines:
            step = SIZES[style] * LEADING
            if y + step > bottom and pages[-1]:
                pages.append([])
                y = MARGIN
            y += step
            pages[-1].append(_Text(x, y, text, style))
    return pages


def _draw(context, page: Sheet, pages: list[list[_Text | _Box]], lang: str) -> None:  # type: ignore[no-untyped-def]
    for number, items in enumerate(pages, 1):
        context.set_source_rgb(0, 0, 0)
        for item in items:
            if isinstance(item, _Box):
                top = item.y + 5
                context.set_line_width(0.8)
                context.rectangle(item.x, top, BOX, BOX)
                context.stroke()
                if item.done:  # a tick
                    context.move_to(item.x + 2, top + BOX / 2)
                    context.line_to(item.x + BOX / 2.5, top + BOX - 2)
                    context.line_to(item.x + BOX - 1.5, top + 1.5)
                    context.stroke()
                continue
            _style(context, item.style)
            context.move_to(item.x, item.y)
            context.show_text(item.text)
        _style(context, "footer")
        footer = translate("runsheet.page", lang, page=number, pages=len(pages))
        context.move_to(MARGIN, A4[1] - MARGIN)
        context.show_text(f"{page.title} · {footer}")
        context.show_page()


def render_pdf(run: Run, lang: str) -> bytes:
    """The run sheet as an A4 PDF, numbered pages, a tick box per stop."""
    import io

    import cairocffi as cairo  # what cairosvg draws with: installed with it

    page = sheet(run, lang)
    pages = _layout(page, cairo.Context(cairo.ImageSurface(cairo.FORMAT_ARGB32, 1, 1)))
    out = io.BytesIO()
    surface = cairo.PDFSurface(out, *A4)
    _draw(cairo.Context(surface), page, pages, lang)
    surface.finish()
    return out.getvalue()
