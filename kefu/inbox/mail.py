"""Reading the email people really send: pure functions over raw RFC 822 bytes (no Django).

Nothing here raises on a strange message: wrong or unknown charsets fall back to the likely one, broken
headers are read as far as they go. Only bytes that are not a message at all make `parse_mail` fail, and
the caller quarantines those with the reason.
"""

from __future__ import annotations

import codecs
import datetime as dt
import email
import email.errors
import email.policy
import hashlib
import logging
import mimetypes
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from kefu.core.filetypes import safe_filename

# Declared names that mean a superset people actually use (Outlook labels GBK text "gb2312"; Big5 mail
# carries HKSCS characters; Korean mail says ks_c_5601 for cp949).
CHARSET_ALIASES = {
    "gb2312": "gb18030", "gb_2312-80": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
    "euc-cn": "gb18030", "x-euc-cn": "gb18030", "chinese": "gb18030", "csgb2312": "gb18030",
    "big5": "big5hkscs", "x-big5": "big5hkscs", "cn-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
    "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8", "x-unknown": "utf-8",
    "shift_jis": "cp932", "x-sjis": "cp932", "sjis": "cp932",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "ascii",
}
# Tried in this order when the declared charset is missing, unknown or wrong.
FALLBACK_CHARSETS = ("utf-8", "gb18030", "big5hkscs", "cp1252")
_SINGLE_BYTE = re.compile(r"^(ascii|cp125\d|iso-?8859-\d+|latin-?\d|koi8-[ru])$")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    content: bytes
    inline: bool = False
    content_id: str = ""


@dataclass(frozen=True)
class Authentication:
    """What the receiving server said (Authentication-Results) and what our own DKIM check found."""

    spf: str = "none"
    dkim: str = "none"
    dmarc: str = "none"
    dkim_signature: str = "absent"   # absent, pass, fail, error (our own verification)
    dkim_domain: str = ""

    @property
    def verdict(self) -> str:
        """pass, fail or none. `fail` holds a reply for review; `none` (nothing to judge) does not."""
        if self.dmarc == "pass" or self.dkim_signature == "pass":
            return "pass"
        if self.dmarc == "fail":
            return "fail"
        if self.dkim_signature == "fail" and self.spf != "pass":
            return "fail"
        if self.dkim == "fail" and self.spf in {"fail", "softfail"}:
            return "fail"
        if "pass" in {self.spf, self.dkim}:
            return "pass"
        if self.spf == "fail":
            return "fail"
        return "none"

    def as_dict(self) -> dict[str, str]:
        return {"verdict": self.verdict, "spf": self.spf, "dkim": self.dkim, "dmarc": self.dmarc,
                "dkim_signature": self.dkim_signature, "dkim_domain": self.dkim_domain}


@dataclass(frozen=True)
class ParsedMail:
    message_id: str                  # "<…>", or "" when the message has none
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender: str                      # the bare From address, lower case
    sender_name: str
    recipients: tuple[str, ...]      # To, Cc and Delivered-To addresses, lower case
    date: dt.datetime | None
    text: str                        # the whole text (the text part, else a rendering of the HTML)
    html: str                        # the HTML part as sent (not sanitised), or ""
    attachments: tuple[MailAttachment, ...] = ()
    automatic: str = ""              # why it is machine-sent (auto-reply, bounce, list), or ""
    authentication: Authentication = field(default_factory=Authentication)
    sender_certain: bool = True      # From names one mailbox that every parser reads alike (see _sender_certain)

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Every Message-ID this one answers, nearest first."""
        return tuple(dict.fromkeys((*self.in_reply_to, *reversed(self.references))))


class NotAnEmail(ValueError):
    """The bytes are not an email at all (no header we can read)."""


def dedupe_key(raw: bytes, message_id: str) -> str:
    """The same message delivered twice has the same key: its Message-ID, else a hash of its bytes."""
    if message_id:
        return "mid:" + message_id[:240]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def read_message_id(raw: bytes) -> str:
    """The Message-ID from the header block alone (cheap: used to skip duplicates before parsing)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = re.search(rb"^message-id:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)", head, re.IGNORECASE | re.MULTILINE)
    if match is None:
        return ""
    found = MESSAGE_ID.search(match.group(1).decode("ascii", "replace"))
    return found.group(0) if found else ""


# ---------------------------------------------------------------------------------------------- text


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    name = CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Bytes to text, trusting the declared charset only as far as the bytes agree with it.

    Mail that is UTF-8 but labelled ascii or Latin-1 is read as UTF-8 (random Latin-1 text is almost never
    valid UTF-8); an unknown or absent label tries UTF-8, GB18030, Big5-HKSCS, then cp1252, which never fails.
    """
    codec = _codec(declared)
    if codec is not None and _SINGLE_BYTE.match(codec) and not data.isascii():
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    candidates = [codec] if codec else []
    candidates += [c for c in FALLBACK_CHARSETS if c != codec]
    for candidate in candidates:
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", errors="replace")  # not reached: cp1252 decodes all but 5 bytes


def header_text(value: object) -> str:
    """A header's text: encoded words decoded (any charset), raw 8-bit UTF-8 or GBK read too, folding undone."""
    if value is None:
        return ""
    raw = str(value)
    try:
        chunks = decode_header(raw)
    except Exception:  # a malformed encoded word: keep the header as it came
        chunks = [(raw, None)]
    parts = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            try:  # raw 8-bit bytes (surrogate escapes) are decoded; text already decoded is kept
                chunk = chunk.encode("ascii", "surrogateescape")
            except UnicodeEncodeError:
                parts.append(chunk)
                continue
        parts.append(decode_text(chunk, charset))
    return " ".join("".join(parts).split())


def _raw_headers(msg: Message, name: str) -> list[str]:
    """A header's values as sent (8-bit bytes kept as surrogate escapes, so header_text can read them);
    compat32's own accessors would replace them."""
    name = name.lower()
    return [str(value) for key, value in msg.raw_items() if key.lower() == name]


def _raw_header(msg: Message, name: str) -> str:
    values = _raw_headers(msg, name)
    return values[0] if values else ""


def _addresses(msg: Message, *names: str) -> list[tuple[str, str]]:
    values = [v for name in names for v in _raw_headers(msg, name)]
    return [(header_text(n), a.strip().lower()) for n, a in getaddresses(values) if "@" in a]


def _message_ids(value: object) -> tuple[str, ...]:
    return tuple(MESSAGE_ID.findall(str(value or "")))


class _TextRenderer(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                        "table", "ul", "ol", "pre", "hr"})
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")
            if tag == "li":
                self.out.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """A plain-text rendering of an HTML mail: block elements on their own lines, no markup or scripts."""
    renderer = _TextRenderer()
    renderer.feed(html)
    renderer.close()
    lines = (" ".join(line.split()) for line in "".join(renderer.out).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_QUOTE_HEADERS = re.compile(
    r"^(On .{4,200} wrote:|在.{2,200}写道[:：]|.{2,200}於.{2,200}寫道[:：]"
    r"|-{2,}\s*(Original Message|原始邮件|原始郵件)\s*-{2,}|(From|发件人|寄件者)\s*[:：].+)\s*$",
    re.IGNORECASE,
)


def split_quoted(text: str) -> tuple[str, str]:
    """(what the person wrote, the quoted earlier mail below it). The display shows the first part; the
    whole text is kept. When everything looks quoted, nothing is trimmed."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        quoted_block = stripped.startswith(">") and all(not x.strip() or x.lstrip().startswith(">")
                                                         for x in lines[i:])
        if _QUOTE_HEADERS.match(stripped) or quoted_block:
            head = "\n".join(lines[:i]).strip()
            if head:
                return head, "\n".join(lines[i:]).strip()
            break
    return text.strip(), ""


# ---------------------------------------------------------------------------------------------- parts


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or bool(part.get_filename()) or part.get_content_maintype() not in {
        "text", "multipart"}


def _filename(part: Message, index: int) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    name = header_text(name) if name else ""
    name = safe_filename(name, fallback="")  # the same cleaning as every other upload path
    if not name:
        extension = mimetypes.guess_extension(part.get_content_type()) or ".bin"
        name = f"attachment-{index}{extension}"
    return name[:255]


def _payload(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822" or part.is_multipart():
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return bytes(inner[0].as_bytes())
        return b""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _walk(msg: Message) -> Iterator[Message]:
    """Every leaf part, with forwarded messages kept whole (they are attachments, not our text)."""
    if msg.get_content_type() == "message/rfc822":
        yield msg
    elif msg.is_multipart():
        for part in msg.get_payload() or []:
            if isinstance(part, Message):
                yield from _walk(part)
    else:
        yield msg


def _body(msg: Message) -> tuple[str, str, tuple[MailAttachment, ...]]:
    texts: list[str] = []
    html = ""
    attachments: list[MailAttachment] = []
    for index, part in enumerate(_walk(msg), start=1):
        ctype = part.get_content_type()
        if ctype in {"text/plain", "text/html"} and not _is_attachment(part):
            content = decode_text(_payload(part), part.get_content_charset())
            if ctype == "text/html":
                html = html or content
            else:
                texts.append(content)
            continue
        content_id = str(part.get("Content-ID", "")).strip().strip("<>")
        attachments.append(MailAttachment(
            filename=_filename(part, index), content_type=ctype, content=_payload(part),
            inline=(part.get_content_disposition() != "attachment") and bool(content_id),
            content_id=content_id))
    text = "\n\n".join(t.strip("\n") for t in texts if t.strip())
    if not text and html:
        text = html_to_text(html)
    return text, html, tuple(attachments)


# ---------------------------------------------------------------------------------------------- noise

AUTOMATIC_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+@-]|$)")


def automatic_reason(msg: Message, sender: str) -> str:
    """Why this message was sent by a machine (and must never be answered), or "" for a person."""
    auto_submitted = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "auto-submitted"
    if str(msg.get("Precedence", "")).strip().lower() in {"bulk", "list", "junk", "auto_reply"}:
        return "precedence"
    if msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("X-Auto-Reply"):
        return "auto-reply"
    suppress = str(msg.get("X-Auto-Response-Suppress", "")).lower()
    if "oof" in suppress or "all" in suppress:
        return "auto-reply"
    if msg.get("List-Id") or msg.get("List-Unsubscribe") or msg.get("List-Post"):
        return "mailing-list"
    if str(msg.get("Return-Path", "")).strip() == "<>" or msg.get_content_type() == "multipart/report":
        return "bounce"
    if AUTOMATIC_SENDERS.match(sender.split("@")[0]):
        return "bounce"
    return ""


# ---------------------------------------------------------------------------------------------- sender authentication

_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)
_STRENGTH = {"pass": 5, "fail": 4, "softfail": 3, "neutral": 2, "temperror": 1, "permerror": 1, "none": 0}


def authentication_results(values: Iterable[str], trusted: Iterable[str] = ()) -> dict[str, str]:
    """SPF, DKIM and DMARC results from the Authentication-Results headers our receiving server added.

    Only headers whose authserv-id is in `trusted` count; with none configured, only the topmost header
    (the last server's, ours) does, because a sender can write any such header further down.
    """
    trusted_ids = {t.strip().lower() for t in trusted if t.strip()}
    headers = [" ".join(str(v).split()) for v in values]
    headers = [h for h in headers if _authserv_id(h) in trusted_ids] if trusted_ids else headers[:1]
    found: dict[str, str] = {}
    for header in headers:
        for method, result in _RESULT.findall(header.split(";", 1)[-1]):
            method, result = method.lower(), result.lower()
            # Several DKIM signatures: the best result counts (one valid signature authenticates).
            if _STRENGTH.get(result, 0) > _STRENGTH.get(found.get(method, "none"), 0) or method not in found:
                found[method] = result
    return found


def _authserv_id(header: str) -> str:
    words = header.split(";", 1)[0].split()
    return words[0].lower() if words else ""


DkimVerifier = Callable[[bytes], tuple[str, str]]
DnsTxt = Callable[..., bytes | None]


def dkim_verifier(dnsfunc: DnsTxt | None = None) -> DkimVerifier:
    """Verify a message's first DKIM signature (dkimpy): ("pass" | "fail" | "error", signing domain).

    `dnsfunc(name, timeout=…)` answers the key's TXT record; by default DNS, cached per process so an
    import of many messages from one sender asks once.
    """
    import dkim  # dkimpy: imported here so that parsing alone does not load it

    cache: dict[bytes, bytes | None] = {}

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        if name not in cache:
            try:
                cache[name] = (dnsfunc or dkim.dnsplug.get_txt)(name, timeout=timeout)
            except Exception:  # no answer is an answer too: asking again per message would stall imports
                cache[name] = None
        return cache[name]

    def verify(raw: bytes) -> tuple[str, str]:
        checker = dkim.DKIM(raw, logger=_DKIM_LOG)
        answers: list[bytes | None] = []

        def recorded(name: bytes, timeout: int = 5) -> bytes | None:
            answers.append(lookup(name, timeout))
            return answers[-1]

        try:
            ok = checker.verify(dnsfunc=recorded)
        except dkim.ValidationError:  # the body or signed headers changed after signing
            return "fail", _signing_domain(checker)
        except Exception:  # malformed signature or key: unverifiable, not forged
            return "error", _signing_domain(checker)
        if not ok and None in answers:  # no key published, or DNS unreachable
            return "error", _signing_domain(checker)
        return ("pass" if ok else "fail"), _signing_domain(checker)

    return verify


_DKIM_LOG = logging.getLogger("kefu.inbox.dkim")
_DKIM_LOG.propagate = False  # dkimpy logs every unverifiable signature as an error; the verdict says it
_DKIM_LOG.addHandler(logging.NullHandler())


def _signing_domain(checker: object) -> str:
    domain = getattr(checker, "domain", None)
    return domain.decode("ascii", "replace").lower() if isinstance(domain, bytes) else ""


def _sender_certain(msg: Message, address: str) -> bool:
    """Whether the message has one From header naming one mailbox, which RFC 5322's strict grammar reads
    as `address` too. Parsers disagree on malformed From headers ("a@x <b@y>", "a@x)<b@y>", two mailboxes,
    none with the address in Sender or Reply-To instead): the server that checked SPF, DKIM and DMARC may
    have judged b@y while the lenient reading here gives a@x, so such a sender is nobody's customer."""
    values = _raw_headers(msg, "From")
    if len(values) != 1:
        return False
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", values[0]).strip()
    try:
        header = email.policy.default.header_factory("From", unfolded)
    except Exception:  # the strict parser gives up on some malformed headers: not certain, then
        return False
    addresses: tuple[Any, ...] = tuple(getattr(header, "addresses", ()))
    if len(addresses) != 1 or any(isinstance(d, email.errors.InvalidHeaderDefect) for d in header.defects):
        return False
    return bool(str(addresses[0].addr_spec).strip().lower() == address)


def parse_mail(raw: bytes, *, trusted_authserv: Iterable[str] = (),
               verify_dkim: DkimVerifier | None = None) -> ParsedMail:
    """Everything the inbox needs from one message. Raises NotAnEmail only for bytes with no header."""
    if not raw.strip():
        raise NotAnEmail("the message is empty")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not msg.keys():
        raise NotAnEmail("no header could be read")
    from_name, from_addr = "", ""
    senders = _addresses(msg, "From") or _addresses(msg, "Sender", "Reply-To")
    if senders:
        from_name, from_addr = senders[0]
    else:
        from_name, from_addr = parseaddr(header_text(_raw_header(msg, "From")))
        from_addr = from_addr.lower()
    if not from_addr:
        raise NotAnEmail("the message has no sender address")
    text, html, attachments = _body(msg)
    ar = authentication_results(msg.get_all("Authentication-Results", []), trusted_authserv)
    signature, domain = ("absent", "")
    if verify_dkim is not None and msg.get("DKIM-Signature"):
        signature, domain = verify_dkim(raw)
    message_ids = _message_ids(msg.get("Message-ID"))
    return ParsedMail(
        message_id=message_ids[0] if message_ids else "",
        in_reply_to=_message_ids(msg.get("In-Reply-To")),
        references=_message_ids(" ".join(str(v) for v in msg.get_all("References", []))),
        subject=header_text(_raw_header(msg, "Subject")),
        sender=from_addr,
        sender_name=from_name,
        recipients=tuple(dict.fromkeys(a for _, a in _addresses(msg, "To", "Cc", "Delivered-To", "X-Original-To"))),
        date=_date(msg.get("Date")),
        text=text,
        html=html,
        attachments=attachments,
        automatic=automatic_reason(msg, from_addr),
        sender_certain=_sender_certain(msg, from_addr),
        authentication=Authentication(spf=ar.get("spf", "none"), dkim=ar.get("dkim", "none"),
                                      dmarc=ar.get("dmarc", "none"), dkim_signature=signature,
                                      dkim_domain=domain),
    )


def _date(value: object) -> dt.datetime | None:
    try:
        parsed = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed
