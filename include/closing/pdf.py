"""A small, valid PDF of plain text lines (the proposals' calculations), without dependencies.

A4 pages, the PDF standard fonts Courier and Courier-Bold (monospaced, so the figures line
up) in WinAnsiEncoding, which holds the Swedish letters. The output is deterministic: no
creation date, no random id, so the same calculation gives the same bytes (and the voucher
set the same checksum) every time it is computed.
"""

from __future__ import annotations

from collections.abc import Sequence

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN_LEFT, MARGIN_TOP, MARGIN_BOTTOM = 50, 60, 50
FONT_SIZE, LEADING = 9, 12
LINES_PER_PAGE = (PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM) // LEADING


def _pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding (cp1252); other characters become '?'."""
    out = bytearray(b"(")
    for byte in text.encode("cp1252", errors="replace"):
        if byte in (0x28, 0x29, 0x5C):  # ( ) \
            out += b"\\" + bytes([byte])
        elif 0x20 <= byte < 0x7F:
            out.append(byte)
        else:
            out += f"\\{byte:03o}".encode("ascii")
    out += b")"
    return bytes(out)


def _page_stream(lines: Sequence[str], bold_first: bool) -> bytes:
    y = PAGE_HEIGHT - MARGIN_TOP
    ops = [f"BT {LEADING} TL {MARGIN_LEFT} {y} Td".encode()]
    for number, line in enumerate(lines):
        font = "F2" if bold_first and number == 0 else "F1"
        ops.append(f"/{font} {FONT_SIZE} Tf ".encode() + _pdf_string(line) + b" Tj T*")
    ops.append(b"ET")
    return b"\n".join(ops) + b"\n"


def text_pdf(title: str, lines: Sequence[str]) -> bytes:
    """A PDF showing ``lines`` (the first in bold), as many A4 pages as they need."""
    pages = [list(lines[i : i + LINES_PER_PAGE]) for i in range(0, len(lines), LINES_PER_PAGE)]
    pages = pages or [[]]
    objects: list[bytes] = []  # object n is objects[n - 1]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in once the page tree's number is known
    pages_id = add(b"")
    regular = add(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>"
    )
    bold = add(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold /Encoding /WinAnsiEncoding >>"
    )
    kids = []
    for number, page_lines in enumerate(pages):
        stream = _page_stream(page_lines, bold_first=number == 0)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")
        resources = b"<< /Font << /F1 %d 0 R /F2 %d 0 R >> >>" % (regular, bold)
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources "
                % (pages_id, PAGE_WIDTH, PAGE_HEIGHT)
                + resources
                + b" /Contents %d 0 R >>" % content
            )
        )
    info = add(b"<< /Title " + _pdf_string(title) + b" /Producer (fortnox-closing) >>")
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    kid_refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kid_refs, len(kids))

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\n" % (
        len(objects) + 1,
        catalog,
        info,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
