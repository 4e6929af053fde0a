"""Reading real-world mail (kefu.inbox.mail, pure): charsets, encoded words, structures, noise, DKIM."""

from __future__ import annotations

from email.message import EmailMessage

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kefu.inbox.mail import (
    Authentication,
    NotAnEmail,
    authentication_results,
    decode_text,
    dedupe_key,
    dkim_verifier,
    header_text,
    html_to_text,
    parse_mail,
    read_message_id,
    split_quoted,
)
from kefu.inbox.tests.corpus import Sample, build_corpus

CORPUS = build_corpus()


@pytest.mark.parametrize("sample", CORPUS, ids=[s.name for s in CORPUS])
def test_every_corpus_message_reads_as_its_sender_wrote_it(sample: Sample) -> None:
    parsed = parse_mail(sample.raw)

    assert parsed.sender == sample.sender
    assert parsed.subject == sample.subject
    assert sample.body_contains in parsed.text
    assert "\ufffd" not in parsed.text, "no character lost to a wrong charset"
    names = {a.filename for a in parsed.attachments}
    assert set(sample.attachments) <= names
    assert bool(parsed.automatic) == sample.automatic
    assert bool(parsed.message_id) == sample.has_message_id
    assert read_message_id(sample.raw) == parsed.message_id


def test_the_corpus_covers_the_shapes_people_send() -> None:
    names = {s.name for s in CORPUS}
    assert len(CORPUS) >= 40 and len(names) == len(CORPUS)
    assert sum(s.automatic for s in CORPUS) >= 5
    assert any(s.attachments for s in CORPUS)


@pytest.mark.parametrize(("data", "declared", "expected"), [
    ("退款申请".encode("gbk"), "gb2312", "退款申请"),
    ("朱镕基堃".encode("gbk"), "gb2312", "朱镕基堃"),          # GBK-only characters labelled gb2312
    ("㐀𠀀".encode("gb18030"), "gb18030", "㐀𠀀"),
    ("發票".encode("big5"), "big5", "發票"),
    ("naïve café".encode(), "us-ascii", "naïve café"),          # UTF-8 labelled ascii
    ("naïve café".encode(), "iso-8859-1", "naïve café"),        # UTF-8 labelled Latin-1
    ("naïve café".encode("cp1252"), "iso-8859-1", "naïve café"),
    ("订单号".encode(), "x-unknown-foo", "订单号"),                # unknown label
    ("订单号".encode("gbk"), None, "订单号"),                     # no label, not UTF-8
    ("Привет".encode("koi8-r"), "KOI8-R", "Привет"),
])
def test_text_is_decoded_by_what_the_bytes_are_not_only_by_the_label(data: bytes, declared: str | None,
                                                                      expected: str) -> None:
    assert decode_text(data, declared) == expected


def test_headers_in_encoded_words_and_raw_8bit_are_read() -> None:
    assert header_text("=?gb2312?B?" + __import__("base64").b64encode("发票问题".encode("gbk")).decode() + "?=") \
        == "发票问题"
    assert header_text("=?utf-8?q?R=C3=BCckerstattung?= =?utf-8?q?_bitte?=") == "Rückerstattung bitte"
    raw_8bit = "退款".encode().decode("ascii", "surrogateescape")
    assert header_text(raw_8bit) == "退款"
    assert header_text("=?broken") == "=?broken"


def test_html_only_mail_gets_a_text_rendering_without_markup_or_scripts() -> None:
    html = "<html><head><style>p{}</style></head><body><p>您好，</p><script>alert(1)</script>" \
           "<ul><li>订单 A&amp;B</li></ul><br>谢谢</body></html>"
    assert html_to_text(html) == "您好，\n\n- 订单 A&B\n\n谢谢"  # no style, no script, entities read


@pytest.mark.parametrize(("text", "shown"), [
    ("Thanks, that fixed it.\n\nOn Tue, 1 Dec 2026 at 10:00, kefu <support@kefu.localhost> wrote:\n> old",
     "Thanks, that fixed it."),
    ("已收到，谢谢。\n\n在 2026年12月1日 10:00，客服 <support@kefu.localhost> 写道：\n> 旧邮件", "已收到，谢谢。"),
    ("New text\n> quoted\n> more", "New text"),
    ("> everything quoted\n> still", "> everything quoted\n> still"),
    ("Plain message, no quote.", "Plain message, no quote."),
])
def test_quoted_replies_are_trimmed_for_display(text: str, shown: str) -> None:
    assert split_quoted(text)[0] == shown


def test_bytes_that_are_not_an_email_are_refused_with_a_reason() -> None:
    with pytest.raises(NotAnEmail):
        parse_mail(b"   ")
    with pytest.raises(NotAnEmail):
        parse_mail(b"just some text without any header line\n")


def test_duplicates_share_a_key_by_message_id_or_by_content() -> None:
    assert dedupe_key(b"a", "<x@y>") == dedupe_key(b"b", "<x@y>")
    assert dedupe_key(b"a", "") == dedupe_key(b"a", "") != dedupe_key(b"b", "")


def test_only_the_receiving_servers_authentication_results_are_believed() -> None:
    ours = "mx.kefu.example; spf=fail smtp.mailfrom=x.example; dkim=none; dmarc=fail header.from=x.example"
    forged = "mx.kefu.example; spf=pass; dkim=pass; dmarc=pass"
    # Topmost header only, when no trusted id is configured: a forged one further down is ignored.
    assert authentication_results([ours, forged]) == {"spf": "fail", "dkim": "none", "dmarc": "fail"}
    assert authentication_results([forged.replace("mx.kefu.example", "evil.example"), ours],
                                  trusted=["mx.kefu.example"]) == {"spf": "fail", "dkim": "none", "dmarc": "fail"}
    assert Authentication(spf="fail", dmarc="fail").verdict == "fail"
    assert Authentication(spf="pass").verdict == "pass"
    assert Authentication().verdict == "none"


def _signed_message(body: str) -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    msg = EmailMessage()
    msg["From"] = "Li Lei <lilei@shop.example>"
    msg["To"] = "support@kefu.localhost"
    msg["Subject"] = "发票"
    msg["Message-ID"] = "<signed-1@shop.example>"
    msg.set_content(body)
    raw = msg.as_bytes().replace(b"\n", b"\r\n")
    signature = dkim.sign(raw, b"sel", b"shop.example", private, include_headers=[b"from", b"subject", b"to"])
    record = b"v=DKIM1; k=rsa; p=" + __import__("base64").b64encode(public)
    return signature + raw, record


def test_dkim_signatures_are_verified_and_tampering_shows() -> None:
    raw, record = _signed_message("请开具发票。\n")
    asked: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        asked.append(name)
        return record

    verify = dkim_verifier(dns)
    good = parse_mail(raw, verify_dkim=verify)
    assert good.authentication.dkim_signature == "pass" and good.authentication.dkim_domain == "shop.example"
    assert good.authentication.verdict == "pass"
    tampered = parse_mail(raw.replace("请开具发票".encode(), "请退款到新账户".encode()), verify_dkim=verify)
    assert tampered.authentication.dkim_signature == "fail"
    assert tampered.authentication.verdict == "fail"
    assert asked == [b"sel._domainkey.shop.example."], "the key is looked up once per process"


def test_an_unreachable_key_is_unverifiable_not_forged() -> None:
    raw, _record = _signed_message("hello\n")

    def no_dns(name: bytes, timeout: int = 5) -> bytes:
        raise OSError("no route to DNS")

    parsed = parse_mail(raw, verify_dkim=dkim_verifier(no_dns))
    assert parsed.authentication.dkim_signature == "error"
    assert parsed.authentication.verdict == "none"
