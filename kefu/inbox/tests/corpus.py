"""A corpus of inbound customer-service mail, built byte by byte, for tests of mail ingestion.

Each :class:`Sample` holds the raw bytes of one message as an MTA hands them over, together with
what a correct parser must recover from them: the sender, the decoded subject, a snippet of the
text body, the attachment names, and whether a machine rather than a person sent it.

The messages are assembled by hand rather than with ``email.message.EmailMessage`` because many of
them are deliberately odd, the way real mail is: legacy charsets, wrong or unknown charset
declarations, 8-bit headers, encoded-word file names, missing headers. Every text in them was
written for this corpus. Nothing depends on randomness or the clock, so two builds are identical.
"""

from __future__ import annotations

import base64
import mailbox
import os
import pathlib
import quopri
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime


@dataclass(frozen=True)
class Sample:
    name: str  # unique, slug-like, e.g. "gbk-plain", "big5-html-only"
    raw: bytes  # the whole message as sent over SMTP, CRLF line ends
    sender: str  # the bare From address, lower case
    subject: str  # the decoded subject a correct parser must produce
    body_contains: str  # a snippet a correct parser must find in the decoded text body ("" when there is none)
    attachments: tuple[str, ...] = ()  # decoded file names a correct parser must find (non-inline and inline)
    automatic: bool = False  # True for auto-replies, bounces, mailing-list traffic
    has_message_id: bool = True


# --------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------

CRLF = b"\r\n"
Header = tuple[str, str | bytes]  # a str value must be ASCII; bytes go on the wire as they are
Part = tuple[list[Header], bytes]  # the headers and the encoded body of one MIME entity

SUPPORT = "Kefu Support <support@kefu.example>"
NOTIFICATION_ID = "<notification.42.20261201120000@kefu.localhost>"

_CST = timezone(timedelta(hours=8))
_FIRST_DATE = datetime(2026, 12, 1, 12, 30, tzinfo=_CST)  # after the notification the replies answer
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")

# A 1x1 PNG, for the inline images.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4n8YAAAPNAWbDbP9aAAAAAElFTkSuQmCC")
# Not a real document: enough of a PDF's shape for a sniffer.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _date(name: str) -> str:
    """A Date header value in December 2026, the same for the same sample name on every build."""
    minutes = sum(name.encode("ascii")) * 37 % (20 * 24 * 60)
    return format_datetime(_FIRST_DATE + timedelta(minutes=minutes))


def _lines(text: str, codec: str) -> bytes:
    """``text`` in ``codec`` with CRLF line ends; line by line so that ISO-2022-JP returns to ASCII at each end."""
    return CRLF.join(line.encode(codec) for line in text.split("\n"))


def _wrap(data: bytes, width: int = 76) -> bytes:
    return CRLF.join(data[i : i + width] for i in range(0, len(data), width))


def _base64(data: bytes) -> bytes:
    return _wrap(base64.b64encode(data))


def _quoted_printable(data: bytes) -> bytes:
    """Quoted-printable of LF-ended ``data``, with CRLF line ends on the wire."""
    return quopri.encodestring(data).replace(b"\n", CRLF)


def _b(text: str, charset: str = "utf-8", codec: str | None = None) -> str:
    """One RFC 2047 B encoded word."""
    encoded = base64.b64encode(text.encode(codec or charset)).decode("ascii")
    return f"=?{charset}?B?{encoded}?="


def _q(text: str, charset: str = "utf-8") -> str:
    """One RFC 2047 Q encoded word."""
    out = []
    for byte in text.encode(charset):
        if byte == 0x20:
            out.append("_")
        elif byte in _Q_SAFE:
            out.append(chr(byte))
        else:
            out.append(f"={byte:02X}")
    return f"=?{charset}?Q?{''.join(out)}?="


def _words(text: str, charset: str = "utf-8", size: int = 8) -> str:
    """``text`` as B encoded words of ``size`` characters each, folded onto continuation lines."""
    return "\r\n ".join(_b(text[i : i + size], charset) for i in range(0, len(text), size))


def _head(headers: Iterable[Header]) -> bytes:
    lines = []
    for field, value in headers:
        data = value if isinstance(value, bytes) else value.encode("ascii")
        lines.append(field.encode("ascii") + b": " + data + CRLF)
    return b"".join(lines)


def _entity(part: Part) -> bytes:
    headers, body = part
    return _head(headers) + CRLF + body


def _text(
    text: str,
    charset: str = "utf-8",
    cte: str | None = "base64",
    *,
    subtype: str = "plain",
    codec: str | None = None,
    extra: Sequence[Header] = (),
) -> Part:
    """A text part. ``charset`` is what the header declares, ``codec`` what the bytes really are."""
    data = _lines(text, codec or charset)
    if cte == "base64":
        body = _base64(data)
    elif cte == "quoted-printable":
        body = _quoted_printable(text.encode(codec or charset))
    else:
        body = data
    headers: list[Header] = [("Content-Type", f'text/{subtype}; charset="{charset}"')]
    if cte is not None:
        headers.append(("Content-Transfer-Encoding", cte))
    return [*headers, *extra], body


def _html(text: str, charset: str = "utf-8", cte: str = "quoted-printable") -> Part:
    return _text(text, charset, cte, subtype="html")


def _attachment(
    content_type: str,
    data: bytes,
    filename: str | None,
    *,
    disposition: str = "attachment",
    content_id: str | None = None,
) -> Part:
    """A base64 part. ``filename`` is the raw parameter text (``filename="a.pdf"``), or None for none."""
    headers: list[Header] = [("Content-Type", content_type), ("Content-Transfer-Encoding", "base64")]
    if filename is not None:
        headers.append(("Content-Disposition", f"{disposition}; {filename}"))
    if content_id is not None:
        headers.append(("Content-ID", f"<{content_id}>"))
    return headers, _base64(data)


def _multipart(subtype: str, boundary: str, parts: Sequence[Part], params: str = "") -> Part:
    delimiter = b"--" + boundary.encode("ascii")
    body = b"This is a multi-part message in MIME format." + CRLF
    for part in parts:
        body += CRLF + delimiter + CRLF + _entity(part)
    body += CRLF + delimiter + b"--" + CRLF
    return [("Content-Type", f'multipart/{subtype}; boundary="{boundary}"{params}')], body


def _sample(
    name: str,
    *,
    sender: str,
    subject: str,
    contains: str,
    part: Part,
    from_: str | bytes | None = None,
    subject_header: str | bytes | None = None,
    trace: Sequence[Header] = (),
    extra: Sequence[Header] = (),
    attachments: tuple[str, ...] = (),
    automatic: bool = False,
    message_id: bool = True,
    date: bool = True,
    has_subject: bool = True,
) -> Sample:
    """One whole message: trace headers, the envelope headers, ``extra``, then the MIME entity ``part``.

    ``subject_header`` defaults to ``subject`` itself when ASCII and to UTF-8 B encoded words otherwise.
    """
    if subject_header is None:
        subject_header = subject if subject.isascii() else _words(subject)
    headers: list[Header] = [*trace, ("From", from_ if from_ is not None else sender), ("To", SUPPORT)]
    if has_subject:
        headers.append(("Subject", subject_header))
    if date:
        headers.append(("Date", _date(name)))
    if message_id:
        headers.append(("Message-ID", f"<{name}@corpus.example>"))
    headers += [*extra, ("MIME-Version", "1.0")]
    raw = _entity(([*headers, *part[0]], part[1]))
    if not raw.endswith(CRLF):  # SMTP DATA ends on a line end
        raw += CRLF
    return Sample(name, raw, sender.lower(), subject, contains, attachments, automatic, message_id)


# --------------------------------------------------------------------------------------------------
# Charsets
# --------------------------------------------------------------------------------------------------


def utf8_base64_plain() -> Sample:
    text = "您好，\n我在11月5日买的蓝牙耳机左耳没有声音，申请退款。\n订单号：20261105-8812\n谢谢！\n李娜"
    return _sample(
        "utf8-base64-plain",
        sender="li.na@qq.example",
        from_=f"{_b('李娜')} <li.na@qq.example>",
        subject="退款申请：订单 20261105-8812",
        contains="申请退款",
        part=_text(text),
    )


def utf8_qp_plain() -> Sample:
    text = (
        "Hello,\nMy order 7731 was marked as delivered on 3 November, but nothing arrived.\n"
        "物流显示已签收，但我没有收到。\nRegards,\nChen Jie"
    )
    return _sample(
        "utf8-qp-plain",
        sender="chen.jie@mail.example",
        from_=f"{_q('陈杰')} <chen.jie@mail.example>",
        subject="Where is my parcel? 包裹在哪",
        subject_header=f"Where is my parcel? {_q('包裹在哪')}",
        contains="物流显示已签收",
        part=_text(text, cte="quoted-printable"),
    )


def gbk_plain() -> Sample:
    text = "你好，\n我的发票抬头写错了，应该是“杭州青禾科技有限公司”，请帮忙重开。\n谢谢"
    return _sample(
        "gbk-plain",
        sender="zhou.min@163.example",
        from_=f"{_b('周敏', 'GBK')} <zhou.min@163.example>",
        subject="发票抬头填错了",
        subject_header=_b("发票抬头填错了", "GBK"),
        contains="请帮忙重开",
        part=_text(text, "GBK", "8bit"),
    )


def gb2312_base64() -> Sample:
    text = "您好：\n我忘记了密码，点击“找回密码”后一直收不到验证码短信。\n手机号：138****0000"
    return _sample(
        "gb2312-base64",
        sender="he.tao@sina.example",
        from_=f"{_b('何涛', 'gb2312')} <he.tao@sina.example>",
        subject="无法登录账户",
        subject_header=_b("无法登录账户", "gb2312"),
        contains="收不到验证码",
        part=_text(text, "gb2312"),
    )


def gb18030_supplementary() -> Sample:
    text = "您好，\n客户姓名：王𠀀（身份证上的生僻字），系统里显示成了问号。\n另一位客户的名字里有“㐀”字，也无法保存。"
    return _sample(
        "gb18030-rare-chars",
        sender="service@bank.example",
        subject="姓名生僻字无法显示",
        subject_header=_b("姓名生僻字无法显示", "gb18030"),
        contains="王𠀀",
        part=_text(text, "gb18030", "8bit"),
    )


def big5_plain() -> Sample:
    text = "您好，\n商品尺寸不合，想要退貨。請問運費是由我負擔嗎？\n訂單編號：TW-55120\n陳美玲"
    return _sample(
        "big5-plain",
        sender="chen.meiling@hinet.example",
        from_=f"{_b('陳美玲', 'big5')} <chen.meiling@hinet.example>",
        subject="退貨運費由誰負擔？",
        subject_header=_b("退貨運費由誰負擔？", "big5"),
        contains="想要退貨",
        part=_text(text, "big5", "8bit"),
    )


def iso2022jp_plain() -> Sample:
    text = (
        "お世話になっております。\n注文番号 JP-3390 の商品がまだ届いていません。\n配送状況を教えてください。\n山田太郎"
    )
    return _sample(
        "iso-2022-jp-plain",
        sender="taro.yamada@mail.example",
        from_=f"{_b('山田太郎', 'ISO-2022-JP')} <taro.yamada@mail.example>",
        subject="配送状況の確認",
        subject_header=_b("配送状況の確認", "ISO-2022-JP"),
        contains="まだ届いていません",
        part=_text(text, "ISO-2022-JP", "7bit"),
    )


def iso8859_1_qp() -> Sample:
    text = "Bonjour,\nJe n'ai pas reçu ma facture pour la commande n° 4410.\nMerci d'avance,\nHélène Mercier"
    return _sample(
        "iso-8859-1-qp",
        sender="helene.mercier@orange.example",
        from_=f"{_q('Hélène Mercier', 'iso-8859-1')} <helene.mercier@orange.example>",
        subject="Facture non reçue",
        subject_header=_q("Facture non reçue", "iso-8859-1"),
        contains="Je n'ai pas reçu ma facture",
        part=_text(text, "iso-8859-1", "quoted-printable"),
    )


def iso8859_2_plain() -> Sample:
    text = "Dzień dobry,\nzamówienie nr 8821 dotarło uszkodzone. Proszę o zwrot pieniędzy.\nŁukasz Wiśniewski"
    return _sample(
        "iso-8859-2-plain",
        sender="lukasz.w@poczta.example",
        from_=f"{_q('Łukasz Wiśniewski', 'iso-8859-2')} <lukasz.w@poczta.example>",
        subject="Zwrot pieniędzy",
        subject_header=_q("Zwrot pieniędzy", "iso-8859-2"),
        contains="Proszę o zwrot pieniędzy",
        part=_text(text, "iso-8859-2", "8bit"),
    )


def iso8859_15_euro() -> Sample:
    text = (
        "Bonjour,\nOn m'a débité 49,90 € deux fois pour la même commande.\nMerci de rembourser le doublon.\nZoë Lefèvre"
    )
    return _sample(
        "iso-8859-15-euro",
        sender="zoe.lefevre@free.example",
        subject="Double débit de 49,90 €",
        subject_header=_q("Double débit de 49,90 €", "iso-8859-15"),
        contains="49,90 € deux fois",
        part=_text(text, "iso-8859-15", "8bit"),
    )


def windows1252_quotes() -> Sample:
    text = "Hello,\nI was charged twice – see the two “Payment received” emails – for €120.\nPlease refund one.\nJosé"
    return _sample(
        "windows-1252-quotes",
        sender="jose.ortega@mail.example",
        subject="Double charge – please refund",
        subject_header=_q("Double charge – please refund", "windows-1252"),
        contains="“Payment received”",
        part=_text(text, "windows-1252", "8bit"),
    )


def windows1251_russian() -> Sample:
    text = "Здравствуйте!\nЯ не могу войти в личный кабинет: пароль не подходит.\nПомогите, пожалуйста.\nИван"
    return _sample(
        "windows-1251-russian",
        sender="ivan.petrov@yandex.example",
        from_=f"{_b('Иван Петров', 'windows-1251')} <ivan.petrov@yandex.example>",
        subject="Не могу войти",
        subject_header=_b("Не могу войти", "windows-1251"),
        contains="не могу войти в личный кабинет",
        part=_text(text, "windows-1251", "8bit"),
    )


def koi8r_russian() -> Sample:
    text = "Добрый день.\nПосылка по заказу 5512 не пришла, трек-номер не обновляется две недели.\nОльга"
    return _sample(
        "koi8-r-russian",
        sender="olga.s@mail-ru.example",
        subject="Где моя посылка?",
        subject_header=_b("Где моя посылка?", "koi8-r"),
        contains="трек-номер не обновляется",
        part=_text(text, "koi8-r", "8bit"),
    )


def shift_jis_plain() -> Sample:
    text = (
        "返金についてのお問い合わせです。\n注文番号 JP-7781 をキャンセルしましたが、まだ返金されていません。\n鈴木花子"
    )
    return _sample(
        "shift-jis-plain",
        sender="hanako.suzuki@docomo.example",
        subject="返金のお願い",
        subject_header=_b("返金のお願い", "Shift_JIS"),
        contains="まだ返金されていません",
        part=_text(text, "Shift_JIS", "8bit"),
    )


def euc_kr_plain() -> Sample:
    text = "안녕하세요.\n주문번호 KR-2201 환불 요청드립니다.\n제품이 파손되어 도착했습니다.\n김민수"
    return _sample(
        "euc-kr-plain",
        sender="minsu.kim@naver.example",
        from_=f"{_b('김민수', 'euc-kr')} <minsu.kim@naver.example>",
        subject="환불 요청",
        subject_header=_b("환불 요청", "euc-kr"),
        contains="환불 요청드립니다",
        part=_text(text, "euc-kr", "8bit"),
    )


def us_ascii_7bit() -> Sample:
    text = "Hi,\nI cannot log in since the password reset yesterday. The page says 'invalid token'.\nThanks,\nTom"
    return _sample(
        "us-ascii-7bit",
        sender="tom.baker@mail.example",
        from_="Tom Baker <tom.baker@mail.example>",
        subject="Cannot log in after password reset",
        contains="invalid token",
        part=_text(text, "us-ascii", "7bit"),
    )


def utf8_8bit_no_cte() -> Sample:
    text = "你好，\n请问发票什么时候能开出来？我需要报销。\n订单号 20261118-3306"
    return _sample(
        "utf8-8bit-no-cte",
        sender="sun.yue@126.example",
        subject="发票进度",
        contains="我需要报销",
        part=_text(text, "utf-8", None),
    )


# --------------------------------------------------------------------------------------------------
# Broken charset declarations: ``contains`` is what the sender meant
# --------------------------------------------------------------------------------------------------


def gb2312_declared_gbk_chars() -> Sample:
    text = "您好，我叫王堃，订单收货人写成了“王坤”，请改为“堃”。\n另：公司名称里的“镕”字在发票上显示不出来。"
    return _sample(
        "gb2312-declared-gbk-chars",
        sender="wang.kun@163.example",
        subject="收货人姓名有误",
        subject_header=_b("收货人姓名有误", "gb2312"),
        contains="我叫王堃",
        part=_text(text, "gb2312", "8bit", codec="gbk"),
    )


def ascii_declared_utf8() -> Sample:
    text = "退款已经过去两周了还没到账，请查一下。\n订单 20261102-7719"
    return _sample(
        "us-ascii-declared-utf8",
        sender="liu.yang@qq.example",
        subject="refund status",
        contains="还没到账",
        part=_text(text, "us-ascii", "7bit", codec="utf-8"),
    )


def unknown_charset_utf8() -> Sample:
    text = "您好，快递员说地址不详，把包裹退回去了。\n新地址：上海市徐汇区漕溪北路 88 号"
    return _sample(
        "unknown-charset-utf8",
        sender="gao.fei@139.example",
        subject="包裹被退回",
        contains="地址不详",
        part=_text(text, "x-unknown-foo", "base64", codec="utf-8"),
    )


def no_charset_utf8() -> Sample:
    text = "Bonjour — 我的账号被锁定了，无法登录。\n用户名：gaolin"
    part: Part = ([("Content-Type", "text/plain"), ("Content-Transfer-Encoding", "8bit")], _lines(text, "utf-8"))
    return _sample(
        "no-charset-utf8",
        sender="gao.lin@mail.example",
        subject="账号被锁定",
        contains="账号被锁定",
        part=part,
    )


def charset_utf8_alias() -> Sample:
    text = "密码重置邮件一直没收到，垃圾箱也没有。\n邮箱就是这个发件地址。"
    return _sample(
        "charset-utf8-alias",
        sender="xu.qing@outlook.example",
        subject="收不到重置邮件",
        contains="垃圾箱也没有",
        part=_text(text, "UTF8", codec="utf-8"),
    )


def charset_gb_2312_80() -> Sample:
    text = "您好，电子发票的金额和订单金额不一致，差了十元。\n订单号 20261121-5150"
    part: Part = (
        [("Content-Type", "text/plain; charset=GB_2312-80"), ("Content-Transfer-Encoding", "8bit")],
        _lines(text, "gb2312"),
    )
    return _sample(
        "charset-gb-2312-80",
        sender="ma.li@sohu.example",
        subject="发票金额不对",
        contains="差了十元",
        part=part,
    )


def latin1_declared_cp1252() -> Sample:
    text = "Hi,\nthe “Track parcel” link in your email is broken – it shows a 404 page.\nBest, Anna"
    return _sample(
        "iso-8859-1-declared-cp1252",
        sender="anna.k@mail.example",
        subject="Broken tracking link",
        contains="“Track parcel”",
        part=_text(text, "iso-8859-1", "quoted-printable", codec="windows-1252"),
    )


# --------------------------------------------------------------------------------------------------
# Encoded words in headers
# --------------------------------------------------------------------------------------------------


def subject_q_gbk() -> Sample:
    return _sample(
        "subject-q-gbk",
        sender="tang.hui@163.example",
        from_=f"{_q('唐慧', 'gbk')} <tang.hui@163.example>",
        subject="关于退款 (refund)",
        subject_header=f"{_q('关于退款', 'gbk')} (refund)",
        contains="退款申请已经提交三天",
        part=_text("退款申请已经提交三天了，还显示“审核中”。", "gbk", "quoted-printable"),
    )


def subject_multi_encoded_words() -> Sample:
    subject = "【紧急】订单 20261120-0042 付款成功但显示未支付，请尽快处理"
    return _sample(
        "subject-multi-encoded-words",
        sender="feng.lei@qq.example",
        subject=subject,
        subject_header=_words(subject, size=7),
        contains="付款成功但订单状态仍是未支付",
        part=_text("付款成功但订单状态仍是未支付，银行卡已经扣款。\n截图稍后补发。"),
    )


def subject_mixed_words() -> Sample:
    return _sample(
        "subject-mixed-words",
        sender="lu.xin@sina.example",
        from_=f"{_b('陆', 'gb2312')} {_q('昕', 'utf-8')} <lu.xin@sina.example>",
        subject="Re: 工单 #42 退款进度",
        subject_header=f"Re: {_q('工单')} #42 {_b('退款进度', 'gb2312')}",
        contains="请问退款进度如何",
        part=_text("请问退款进度如何？已经一周了。", "gb2312", "base64"),
    )


def subject_8bit_utf8() -> Sample:
    return _sample(
        "subject-8bit-utf8",
        sender="zhang.wei@qq.example",
        from_="张伟 <zhang.wei@qq.example>".encode(),
        subject="物流单号查不到信息",
        subject_header="物流单号查不到信息".encode(),
        contains="单号在快递官网查不到",
        part=_text("你们给的单号在快递官网查不到任何信息。\n单号：SF1234567890", "utf-8", "8bit"),
    )


def subject_split_multibyte() -> Sample:
    """A UTF-8 character split across two encoded words: forbidden by RFC 2047, sent by real mailers."""
    data = "账单有误".encode()
    first = base64.b64encode(data[:4]).decode("ascii")  # ends inside 单
    second = base64.b64encode(data[4:]).decode("ascii")
    return _sample(
        "subject-split-multibyte",
        sender="yang.fan@mail.example",
        subject="账单有误",
        subject_header=f"=?UTF-8?B?{first}?=\r\n =?UTF-8?B?{second}?=",
        contains="账单里多扣了运费",
        part=_text("账单里多扣了运费 12 元。"),
    )


# --------------------------------------------------------------------------------------------------
# Structures
# --------------------------------------------------------------------------------------------------


def alternative_text_html() -> Sample:
    text = "您好，\n快递已经三天没有更新了，麻烦帮忙催一下。\n订单 20261115-2020"
    html = (
        "<html><body><p>您好，</p><p>快递已经三天没有更新了，麻烦帮忙催一下。</p>"
        "<p>订单 <b>20261115-2020</b></p></body></html>"
    )
    part = _multipart("alternative", "==alt-1==", [_text(text, cte="quoted-printable"), _html(html)])
    return _sample(
        "alternative-text-html",
        sender="qian.yu@163.example",
        subject="催一下快递",
        contains="快递已经三天没有更新",
        part=part,
    )


def mixed_pdf_attachment() -> Sample:
    parts = [
        _text("您好，附件是发票，但税号少了一位，请重新开具。\n正确税号：91330100MA2XXXXX0Q"),
        _attachment('application/pdf; name="invoice-2026-118.pdf"', PDF, 'filename="invoice-2026-118.pdf"'),
    ]
    return _sample(
        "mixed-pdf-attachment",
        sender="finance@qinghe.example",
        subject="发票税号错误",
        contains="附件是发票",
        part=_multipart("mixed", "==mixed-1==", parts),
        attachments=("invoice-2026-118.pdf",),
    )


def related_inline_image() -> Sample:
    html = (
        "<html><body><p>登录时出现下面的错误：</p>"
        '<p><img src="cid:screenshot-1@corpus.example" alt="error"></p></body></html>'
    )
    image = _attachment(
        'image/png; name="screenshot.png"',
        PNG,
        'filename="screenshot.png"',
        disposition="inline",
        content_id="screenshot-1@corpus.example",
    )
    return _sample(
        "related-inline-image",
        sender="deng.jing@126.example",
        subject="登录报错截图",
        contains="登录时出现下面的错误",
        part=_multipart("related", "==rel-1==", [_html(html), image], '; type="text/html"'),
        attachments=("screenshot.png",),
    )


def nested_mixed_alternative_related() -> Sample:
    text = "您好，\n收据上的金额不对，应为 368 元。\n收据和店铺标志见附件。"
    html = (
        '<html><body><p><img src="cid:logo@corpus.example" alt="logo"></p>'
        "<p>收据上的金额不对，应为 <b>368</b> 元。</p></body></html>"
    )
    logo = _attachment(
        'image/png; name="logo.png"', PNG, 'filename="logo.png"', disposition="inline", content_id="logo@corpus.example"
    )
    related = _multipart("related", "==nest-rel==", [_html(html), logo], '; type="text/html"')
    alternative = _multipart("alternative", "==nest-alt==", [_text(text, cte="quoted-printable"), related])
    receipt = _attachment('application/pdf; name="receipt.pdf"', PDF, 'filename="receipt.pdf"')
    return _sample(
        "nested-mixed-alternative-related",
        sender="shop.owner@taobao.example",
        subject="收据金额不对",
        contains="收据上的金额不对",
        part=_multipart("mixed", "==nest-mixed==", [alternative, receipt]),
        attachments=("logo.png", "receipt.pdf"),
    )


def html_only() -> Sample:
    html = (
        "<!DOCTYPE html><html><head><style>p{margin:0}</style></head><body>"
        "<div><p>请问什么时候发货？</p><p>已经付款五天了。</p></div></body></html>"
    )
    return _sample(
        "html-only",
        sender="bai.lu@qq.example",
        subject="什么时候发货",
        contains="请问什么时候发货",
        part=_html(html),
    )


def big5_html_only() -> Sample:
    html = "<html><body><p>您好：</p><p>我的帳號無法登入，顯示密碼錯誤。</p><p>謝謝！</p></body></html>"
    return _sample(
        "big5-html-only",
        sender="lin.yating@hinet.example",
        subject="帳號無法登入",
        subject_header=_b("帳號無法登入", "big5"),
        contains="我的帳號無法登入",
        part=_html(html, "big5", "base64"),
    )


def forwarded_rfc822() -> Sample:
    inner_headers: list[Header] = [
        ("From", f"{_b('郑芳')} <zheng.fang@qq.example>"),
        ("To", "sales@qinghe.example"),
        ("Subject", _b("投诉：客服态度")),
        ("Date", "Mon, 30 Nov 2026 09:15:00 +0800"),
        ("Message-ID", "<complaint-original@qq.example>"),
        ("MIME-Version", "1.0"),
    ]
    inner = _text("上周打电话问退款，客服直接挂断了电话，希望给个说法。")
    forwarded: Part = (
        [("Content-Type", "message/rfc822"), ("Content-Disposition", 'attachment; filename="original-message.eml"')],
        _entity(([*inner_headers, *inner[0]], inner[1])),
    )
    intro_text = "Hi team,\nforwarding a customer complaint that reached the sales inbox.\nThanks, Mei"
    intro = _text(intro_text, "us-ascii", "7bit")
    return _sample(
        "forwarded-rfc822",
        sender="mei.sales@qinghe.example",
        subject="Fwd: 投诉：客服态度",
        contains="forwarding a customer complaint",
        part=_multipart("mixed", "==fwd-1==", [intro, forwarded]),
        attachments=("original-message.eml",),
    )


def attachment_rfc2231_name() -> Sample:
    parts = [
        _text("您好，发票见附件，请核对。"),
        _attachment("application/pdf", PDF, "filename*=UTF-8''%E5%8F%91%E7%A5%A8.pdf"),
    ]
    return _sample(
        "attachment-rfc2231-name",
        sender="accounting@corp.example",
        subject="发票核对",
        contains="发票见附件",
        part=_multipart("mixed", "==2231-1==", parts),
        attachments=("发票.pdf",),
    )


def attachment_rfc2231_continuation() -> Sample:
    filename = "filename*0*=UTF-8''%E9%80%80%E6%AC%BE;\r\n filename*1*=%E7%94%B3%E8%AF%B7%E8%A1%A8.docx"
    parts = [
        _text("退款申请表已经填好，见附件。"),
        _attachment("application/vnd.openxmlformats-officedocument.wordprocessingml.document", PDF, filename),
    ]
    return _sample(
        "attachment-rfc2231-continuation",
        sender="he.li@163.example",
        subject="退款申请表",
        contains="退款申请表已经填好",
        part=_multipart("mixed", "==2231-2==", parts),
        attachments=("退款申请表.docx",),
    )


def attachment_rfc2047_name() -> Sample:
    encoded = _b("退款凭证.jpg")
    parts = [
        _text("银行的退款凭证拍照发给你们了。"),
        _attachment(f'image/jpeg; name="{encoded}"', PNG, f'filename="{encoded}"'),
    ]
    return _sample(
        "attachment-rfc2047-name",
        sender="song.jia@qq.example",
        subject="退款凭证",
        contains="退款凭证拍照",
        part=_multipart("mixed", "==2047-1==", parts),
        attachments=("退款凭证.jpg",),
    )


def attachment_gbk_name() -> Sample:
    encoded = _b("订单明细.xls", "GBK")
    parts = [
        _text("附件是本月的订单明细，请对账。", "GBK"),
        _attachment(f'application/vnd.ms-excel; name="{encoded}"', PDF, f'filename="{encoded}"'),
    ]
    return _sample(
        "attachment-gbk-name",
        sender="duizhang@supplier.example",
        subject="对账单",
        subject_header=_b("对账单", "GBK"),
        contains="请对账",
        part=_multipart("mixed", "==gbk-1==", parts),
        attachments=("订单明细.xls",),
    )


def attachment_gbk_rfc2231_name() -> Sample:
    quoted = "".join(f"%{byte:02X}" for byte in "物流截图.png".encode("gbk"))
    parts = [
        _text("物流页面截图在附件里。", "GBK", "8bit"),
        _attachment("image/png", PNG, f"filename*=GBK''{quoted}"),
    ]
    return _sample(
        "attachment-gbk-rfc2231-name",
        sender="wu.di@163.example",
        subject="物流截图",
        subject_header=_b("物流截图", "GBK"),
        contains="物流页面截图",
        part=_multipart("mixed", "==gbk-2==", parts),
        attachments=("物流截图.png",),
    )


def attachment_zero_bytes() -> Sample:
    parts = [
        _text("The attached form came out empty when I downloaded it from your site.", "us-ascii", "7bit"),
        _attachment('application/pdf; name="return-form.pdf"', b"", 'filename="return-form.pdf"'),
    ]
    return _sample(
        "attachment-zero-bytes",
        sender="p.novak@mail.example",
        subject="Empty return form",
        contains="came out empty",
        part=_multipart("mixed", "==zero-1==", parts),
        attachments=("return-form.pdf",),
    )


def attachment_octet_stream_no_name() -> Sample:
    parts = [
        _text("数据导出文件附上，文件名丢了，不好意思。"),
        _attachment("application/octet-stream", b"\x00\x01\x02kefu-export\xff\xfe", None),
    ]
    return _sample(
        "attachment-octet-stream-no-name",
        sender="it@customer.example",
        subject="导出文件",
        contains="数据导出文件附上",
        part=_multipart("mixed", "==oct-1==", parts),
    )


def text_plain_as_attachment() -> Sample:
    log = _text(
        "2026-12-02 10:01:13 ERROR login failed: token expired\n2026-12-02 10:01:20 ERROR login failed: token expired",
        "us-ascii",
        "7bit",
        extra=[("Content-Disposition", 'attachment; filename="error-log.txt"')],
    )
    parts = [_text("Login keeps failing, the app log is attached.", "us-ascii", "7bit"), log]
    return _sample(
        "text-plain-as-attachment",
        sender="dev.ops@customer.example",
        subject="Login fails, log attached",
        contains="Login keeps failing",
        part=_multipart("mixed", "==txt-1==", parts),
        attachments=("error-log.txt",),
    )


def long_line() -> Sample:
    orders = "；".join(f"订单号 202611{day:02d}-{day * 37:04d} 未到账" for day in range(1, 31))
    text = f"以下订单全部申请退款：{orders}；最后一个订单号 20261130-9999 也一样。\n谢谢"
    return _sample(
        "long-line",
        sender="bulk.buyer@corp.example",
        subject="批量退款",
        contains="最后一个订单号 20261130-9999",
        part=_text(text, "utf-8", "8bit"),
    )


def no_body() -> Sample:
    part: Part = ([("Content-Type", 'text/plain; charset="utf-8"')], b"")
    return _sample(
        "no-body",
        sender="empty.sender@mail.example",
        subject="Order 5531",
        contains="",
        part=part,
    )


# --------------------------------------------------------------------------------------------------
# Replies with quoting
# --------------------------------------------------------------------------------------------------

_THREAD: tuple[Header, ...] = (("In-Reply-To", NOTIFICATION_ID), ("References", NOTIFICATION_ID))


def reply_english_quoted() -> Sample:
    text = (
        "Thanks, the refund arrived today.\n\n"
        "On Tue, 1 Dec 2026 at 12:00, Kefu Support <support@kefu.example> wrote:\n"
        "> Your refund for order 8812 has been approved.\n"
        "> It should arrive within 3-5 business days."
    )
    return _sample(
        "reply-english-quoted",
        sender="amy.lee@mail.example",
        from_="Amy Lee <amy.lee@mail.example>",
        subject="Re: [#42] Refund approved",
        contains="the refund arrived today",
        part=_text(text, "us-ascii", "7bit"),
        extra=_THREAD,
    )


def reply_chinese_quoted() -> Sample:
    text = (
        "好的，退款收到了，谢谢！\n\n"
        "在 2026年12月1日 12:00，客服中心 <support@kefu.example> 写道：\n"
        "> 您的退款已审核通过。\n"
        "> 预计 3-5 个工作日到账。"
    )
    return _sample(
        "reply-chinese-quoted",
        sender="li.na@qq.example",
        from_=f"{_b('李娜')} <li.na@qq.example>",
        subject="回复：[#42] 退款已审核通过",
        contains="退款收到了",
        part=_text(text, "gb18030", "base64"),
        extra=_THREAD,
    )


def reply_outlook_original_message() -> Sample:
    text = (
        "The parcel arrived, but the box was damaged. Photos will follow.\n\n"
        "-----Original Message-----\n"
        "From: Kefu Support <support@kefu.example>\n"
        "Sent: Tuesday, December 1, 2026 12:00 PM\n"
        "Subject: [#42] Your parcel is on its way\n\n"
        "Your parcel left our warehouse today."
    )
    return _sample(
        "reply-outlook-original-message",
        sender="r.jones@corp.example",
        from_='"Jones, Robert" <r.jones@corp.example>',
        subject="RE: [#42] Your parcel is on its way",
        contains="the box was damaged",
        part=_text(text, "windows-1252", "quoted-printable"),
        extra=[*_THREAD, ("Thread-Topic", "[#42] Your parcel is on its way")],
    )


# --------------------------------------------------------------------------------------------------
# Missing or odd headers
# --------------------------------------------------------------------------------------------------


def no_message_id() -> Sample:
    return _sample(
        "no-message-id",
        sender="old.client@legacy.example",
        subject="Invoice copy needed",
        contains="copy of invoice 2026-0077",
        part=_text("Please send me a copy of invoice 2026-0077.", "us-ascii", "7bit"),
        message_id=False,
    )


def no_date() -> Sample:
    return _sample(
        "no-date",
        sender="cao.rui@163.example",
        subject="修改收货地址",
        contains="收货地址改成",
        part=_text("请把收货地址改成：北京市朝阳区望京街 10 号。"),
        date=False,
    )


def no_subject() -> Sample:
    return _sample(
        "no-subject",
        sender="nosubject@qq.example",
        subject="",
        contains="忘了写主题",
        part=_text("不好意思忘了写主题。我想问发票能不能开成专票。"),
        has_subject=False,
    )


def from_bare_address() -> Sample:
    return _sample(
        "from-bare-address",
        sender="wangfang@163.example",
        subject="退货地址是哪里",
        contains="退货寄到哪个地址",
        part=_text("请问退货寄到哪个地址？"),
    )


def from_angle_address_only() -> Sample:
    return _sample(
        "from-angle-address-only",
        sender="zhao.lei@qq.example",
        from_="<zhao.lei@qq.example>",
        subject="Delivery time to Shenzhen",
        contains="How long does delivery to Shenzhen take",
        part=_text("How long does delivery to Shenzhen take?", "us-ascii", "7bit"),
    )


def from_quoted_comma() -> Sample:
    return _sample(
        "from-quoted-comma",
        sender="lei.wang@corp.example",
        from_='"Wang, Lei (Purchasing)" <lei.wang@corp.example>',
        subject="PO 8841 invoice address",
        contains="invoice address for PO 8841",
        part=_text("Please change the invoice address for PO 8841 to our Suzhou office.", "us-ascii", "7bit"),
    )


def from_uppercase_address() -> Sample:
    return _sample(
        "from-uppercase-address",
        sender="Mary.Smith@Example.COM",
        from_="Mary Smith <Mary.Smith@Example.COM>",
        subject="Account locked",
        contains="account is locked",
        part=_text("My account is locked after three wrong passwords.", "us-ascii", "7bit"),
    )


# --------------------------------------------------------------------------------------------------
# Automatic mail
# --------------------------------------------------------------------------------------------------


def auto_replied_out_of_office() -> Sample:
    return _sample(
        "auto-replied-out-of-office",
        sender="amy.lee@mail.example",
        from_="Amy Lee <amy.lee@mail.example>",
        subject="Automatic reply: [#42] Refund approved",
        contains="out of the office until 7 December",
        part=_text("I am out of the office until 7 December with limited access to email.", "us-ascii", "7bit"),
        extra=[*_THREAD, ("Auto-Submitted", "auto-replied")],
        automatic=True,
    )


def precedence_bulk() -> Sample:
    html = "<html><body><h1>December deals</h1><p>Up to 30% off headphones this week.</p></body></html>"
    parts = [_text("December deals: up to 30% off headphones this week.", "us-ascii", "7bit"), _html(html)]
    return _sample(
        "precedence-bulk",
        sender="deals@shop.example",
        from_="Shop Deals <deals@shop.example>",
        subject="December deals",
        contains="up to 30% off headphones",
        part=_multipart("alternative", "==bulk-1==", parts),
        extra=[("Precedence", "bulk"), ("List-Unsubscribe", "<mailto:unsubscribe@shop.example>")],
        automatic=True,
    )


def precedence_list() -> Sample:
    return _sample(
        "precedence-list",
        sender="kai.zhou@dev.example",
        from_="Kai Zhou <kai.zhou@dev.example>",
        subject="[users] Invoice export fails on large months",
        contains="export times out",
        part=_text("Since the update the invoice export times out for months with many orders.", "us-ascii", "7bit"),
        extra=[
            ("Precedence", "list"),
            ("List-Id", "Kefu users <users.lists.kefu.example>"),
            ("List-Post", "<mailto:users@lists.kefu.example>"),
            ("Sender", "users-bounces@lists.kefu.example"),
        ],
        automatic=True,
    )


def x_autoreply() -> Sample:
    return _sample(
        "x-autoreply",
        sender="helpdesk@vendor.example",
        from_="Vendor Helpdesk <helpdesk@vendor.example>",
        subject="Re: [#42] Your parcel is on its way",
        contains="automatic confirmation",
        part=_text("This is an automatic confirmation: we received your message.", "us-ascii", "7bit"),
        extra=[*_THREAD, ("X-Autoreply", "yes")],
        automatic=True,
    )


def bounce_delivery_status() -> Sample:
    notice = _text(
        "Your message to <nobody@customer.example> could not be delivered.\n"
        "The receiving server answered: 550 5.1.1 mailbox does not exist.",
        "us-ascii",
        "7bit",
    )
    status_text = (
        "Reporting-MTA: dns; mx.mail.example\r\n\r\n"
        "Final-Recipient: rfc822; nobody@customer.example\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 mailbox does not exist\r\n"
    )
    status: Part = ([("Content-Type", "message/delivery-status")], status_text.encode("ascii"))
    original_headers: list[Header] = [
        ("From", SUPPORT),
        ("To", "nobody@customer.example"),
        ("Subject", "[#42] Your parcel is on its way"),
        ("Message-ID", NOTIFICATION_ID),
    ]
    original: Part = ([("Content-Type", "text/rfc822-headers")], _head(original_headers))
    part = _multipart("report", "==dsn-1==", [notice, status, original], "; report-type=delivery-status")
    return _sample(
        "bounce-delivery-status",
        sender="MAILER-DAEMON@mx.mail.example",
        from_="Mail Delivery System <MAILER-DAEMON@mx.mail.example>",
        subject="Undelivered Mail Returned to Sender",
        contains="could not be delivered",
        part=part,
        trace=[("Return-Path", "<>")],
        extra=[("Auto-Submitted", "auto-replied")],
        automatic=True,
    )


def chinese_out_of_office() -> Sample:
    return _sample(
        "chinese-out-of-office",
        sender="li.na@qq.example",
        from_=f"{_b('李娜')} <li.na@qq.example>",
        subject="自动回复: [#42] 退款已审核通过",
        contains="我正在休假",
        part=_text("您好，我正在休假，12月8日返回，期间邮件不能及时回复。", "gb2312", "base64"),
        extra=[*_THREAD, ("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")],
        automatic=True,
    )


# --------------------------------------------------------------------------------------------------
# The corpus and its files
# --------------------------------------------------------------------------------------------------

BUILDERS = (
    utf8_base64_plain,
    utf8_qp_plain,
    gbk_plain,
    gb2312_base64,
    gb18030_supplementary,
    big5_plain,
    iso2022jp_plain,
    iso8859_1_qp,
    iso8859_2_plain,
    iso8859_15_euro,
    windows1252_quotes,
    windows1251_russian,
    koi8r_russian,
    shift_jis_plain,
    euc_kr_plain,
    us_ascii_7bit,
    utf8_8bit_no_cte,
    gb2312_declared_gbk_chars,
    ascii_declared_utf8,
    unknown_charset_utf8,
    no_charset_utf8,
    charset_utf8_alias,
    charset_gb_2312_80,
    latin1_declared_cp1252,
    subject_q_gbk,
    subject_multi_encoded_words,
    subject_mixed_words,
    subject_8bit_utf8,
    subject_split_multibyte,
    alternative_text_html,
    mixed_pdf_attachment,
    related_inline_image,
    nested_mixed_alternative_related,
    html_only,
    big5_html_only,
    forwarded_rfc822,
    attachment_rfc2231_name,
    attachment_rfc2231_continuation,
    attachment_rfc2047_name,
    attachment_gbk_name,
    attachment_gbk_rfc2231_name,
    attachment_zero_bytes,
    attachment_octet_stream_no_name,
    text_plain_as_attachment,
    long_line,
    no_body,
    reply_english_quoted,
    reply_chinese_quoted,
    reply_outlook_original_message,
    no_message_id,
    no_date,
    no_subject,
    from_bare_address,
    from_angle_address_only,
    from_quoted_comma,
    from_uppercase_address,
    auto_replied_out_of_office,
    precedence_bulk,
    precedence_list,
    x_autoreply,
    bounce_delivery_status,
    chinese_out_of_office,
)


def build_corpus() -> list[Sample]:
    """Every sample, in a fixed order; names are unique."""
    samples = [build() for build in BUILDERS]
    names = [sample.name for sample in samples]
    if len(set(names)) != len(names):
        raise AssertionError(f"duplicate sample names in {names}")
    return samples


_FROM_LINE_DATE = b"Tue Dec  1 12:00:00 2026"


def write_mbox(path: str | os.PathLike[str], samples: Iterable[Sample]) -> None:
    """Write ``samples`` to a fresh mbox at ``path``; reading a message back gives its raw bytes unchanged.

    mboxo escapes body lines that start with ``From `` and so cannot keep them; such a sample is refused.
    """
    target = pathlib.Path(path)
    target.unlink(missing_ok=True)
    box = mailbox.mbox(target, create=True)
    box.lock()
    try:
        for sample in samples:
            if sample.raw.startswith(b"From ") or b"\nFrom " in sample.raw:
                raise ValueError(f"{sample.name}: a line starting with 'From ' would be escaped in an mbox")
            box.add(b"From " + sample.sender.encode("ascii") + b" " + _FROM_LINE_DATE + b"\n" + sample.raw)
        box.flush()
    finally:
        box.unlock()
        box.close()


def write_eml_dir(path: str | os.PathLike[str], samples: Iterable[Sample]) -> list[pathlib.Path]:
    """Write each sample to ``<path>/<name>.eml``, byte for byte; returns the files in order."""
    directory = pathlib.Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for sample in samples:
        file = directory / f"{sample.name}.eml"
        file.write_bytes(sample.raw)
        written.append(file)
    return written
