"""What an uploaded file is, judged by its bytes, and a name for it that is safe to store and show.

A file's name and the type a client claims are both chosen by the sender: a web page or a program renamed
to ``photo.png`` keeps its content. Uploads are therefore checked against the leading bytes ("magic
numbers") of the types kefu accepts, and text must decode as text. Pure logic with no Django import, so it
is cheap to test and reuse (tickets, chat and the download path all use it).
"""

from __future__ import annotations

import io
import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Callable
from functools import partial

FALLBACK_NAME = "file"
MAX_NAME = 255
MAX_EXTENSION = 16

# Raster images are often saved under the wrong extension (a JPEG named .png by a phone or a chat app);
# one of them with another's name is still a harmless image, stored with the type its bytes show.
IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
TEXT = frozenset({"text/plain", "text/csv", "text/tab-separated-values"})
MARKUP = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml"})

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of .doc, .xls and .ppt before 2007
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or the end record of an empty archive
_OOXML_PART = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "word/",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xl/",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "ppt/",
}

# The leading bytes that start some of what must never pass as another type: programs and scripts.
_EXECUTABLE = (b"\x7fELF", b"MZ", b"#!", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
               b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\x00asm")
# What a browser takes for HTML or XML when it sniffs (the WHATWG MIME Sniffing list, plus SVG): a tag
# name followed by a space or ">" at the start of the text, case-insensitively.
_MARKUP_START = re.compile(
    r"\s*(?:<!doctype\s+html|<html|<head|<script|<iframe|<h1|<div|<font|<table|<a|<style|<title|<b|<body"
    r"|<br|<p|<svg|<object|<embed|<meta|<link|<form|<img)[\s>/]|\s*<!--|\s*<\?xml",
    re.IGNORECASE,
)
# Tab, line feed, form feed and carriage return occur in text; NUL and the other C0 controls (ESC aside,
# for coloured logs) are the mark of a binary file.
_BINARY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_EXTENSION = re.compile(rf"\.[A-Za-z0-9]{{1,{MAX_EXTENSION - 1}}}$")


# ---------------------------------------------------------------------------------------------- type


def _zip_names(content: bytes) -> list[str] | None:
    """The member names of a ZIP archive (read from its directory: nothing is decompressed)."""
    if not content.startswith(_ZIP):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return None


def _is_ooxml(content: bytes, *, part: str) -> bool:
    names = _zip_names(content)
    return names is not None and "[Content_Types].xml" in names and any(n.startswith(part) for n in names)


def _is_webp(content: bytes) -> bool:
    return content[:4] == b"RIFF" and content[8:12] == b"WEBP"


SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "image/png": lambda c: c.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda c: c.startswith(b"\xff\xd8\xff"),
    "image/gif": lambda c: c.startswith((b"GIF87a", b"GIF89a")),
    "image/webp": _is_webp,
    "image/bmp": lambda c: c.startswith(b"BM"),
    "image/tiff": lambda c: c.startswith((b"II*\x00", b"MM\x00*")),
    "application/pdf": lambda c: c.startswith(b"%PDF-"),
    "application/zip": lambda c: _zip_names(c) is not None,
    "application/x-zip-compressed": lambda c: _zip_names(c) is not None,
    "application/gzip": lambda c: c.startswith(b"\x1f\x8b"),
    "application/x-7z-compressed": lambda c: c.startswith(b"7z\xbc\xaf\x27\x1c"),
    "application/vnd.rar": lambda c: c.startswith(b"Rar!\x1a\x07"),
    "application/x-rar-compressed": lambda c: c.startswith(b"Rar!\x1a\x07"),
    "application/msword": lambda c: c.startswith(_OLE),
    "application/vnd.ms-excel": lambda c: c.startswith(_OLE),
    "application/vnd.ms-powerpoint": lambda c: c.startswith(_OLE),
    **{kind: partial(_is_ooxml, part=part) for kind, part in _OOXML_PART.items()},
}


def decode_text(content: bytes) -> str | None:
    """The text of a plain-text file (UTF-8, UTF-16 with its byte-order mark, or GB18030), or None when
    the bytes are not text: they do not decode, or hold NUL or other control characters no text has."""
    for bom, codec in _BOMS:
        if content.startswith(bom):
            candidates = [(content[len(bom):], codec)]
            break
    else:
        candidates = [(content, "utf-8"), (content, "gb18030")]
    for data, codec in candidates:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        return None if _BINARY_CONTROL.search(text) else text
    return None


def looks_like_markup(text: str) -> bool:
    """Whether a browser sniffing this text would take it for HTML, SVG or XML."""
    return bool(_MARKUP_START.match(text.lstrip("\ufeff")[:1024]))


def looks_executable(content: bytes) -> bool:
    """A native program (ELF, Windows PE, Mach-O, WebAssembly) or a script with a #! line."""
    return content.startswith(_EXECUTABLE)


def sniff(content: bytes) -> str | None:
    """The type the bytes show, among those with a signature (Office files before plain ZIP), or None."""
    for kind in (*_OOXML_PART, *(k for k in SIGNATURES if k not in _OOXML_PART)):
        if SIGNATURES[kind](content):
            return kind
    return None


def content_matches(kind: str, content: bytes) -> str | None:
    """The type to store a file claimed to be `kind` as, when its bytes agree; None when they do not.

    Types with a signature must start with it (an image may be any of the raster image types); text
    must decode as text and not be a web page or a script; any other type is accepted unless its bytes
    are a program or a page a browser would render.
    """
    kind = kind.lower()
    check = SIGNATURES.get(kind)
    if check is not None:
        if check(content):
            return kind
        shown = sniff(content)
        return shown if kind in IMAGES and shown in IMAGES else None
    if kind in TEXT or (kind.startswith("text/") and kind not in MARKUP):
        text = decode_text(content)
        if text is None or looks_like_markup(text) or text.startswith("#!"):
            return None
        return kind
    if looks_executable(content):
        return None
    if kind not in MARKUP and looks_like_markup(content[:1024].decode("utf-8", "ignore")):
        return None
    return kind


# ---------------------------------------------------------------------------------------------- name


def _visible(ch: str) -> bool:
    # Cc: control characters (CR, LF, NUL, …); Cf: format characters, among them the bidirectional
    # overrides ("photo<U+202E>gnp.exe" shows as "photoexe.png") and zero-width characters; Cs: lone
    # surrogates from undecodable bytes; Zl/Zp: line and paragraph separators.
    return unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Zl", "Zp"}


def safe_filename(name: str, fallback: str = FALLBACK_NAME) -> str:
    """A file name to store and show: the last path component only (no ``../``, no drive or folder,
    with either slash), without invisible or control characters, without leading dots (no hidden
    ``.htaccess``) or trailing dots and spaces, at most 255 characters with the extension kept;
    `fallback` when nothing is left."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(ch if _visible(ch) else " " if ch in "\r\n\t\u2028\u2029" else "" for ch in name)
    name = posixpath.basename(name.replace("\\", "/"))
    name = " ".join(name.split()).lstrip(". ").rstrip(". ")
    if not name:
        return fallback
    if len(name) > MAX_NAME:
        match = _EXTENSION.search(name)
        extension = match.group(0) if match else ""
        name = name[: MAX_NAME - len(extension)].rstrip(". ") + extension
    return name
