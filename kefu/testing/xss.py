"""A corpus of stored cross-site-scripting payloads, and what a browser runs to notice one that worked.

Every payload, if it ever ran, calls ``__xss('<marker>')`` (one opens ``alert('<marker>')`` instead); the
marker names the payload and the field it was put in (``x07f12``: payload 7 in field 12), so a report says
exactly which field of which page let it through. Escaped, a payload shows as text with its marker in it,
which is how a test proves that the page it opened really showed the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid

MARKER = re.compile(r"x(\d\d)f(\d\d)")


@dataclass(frozen=True)
class Payload:
    key: str  # x01 …
    template: str  # "{m}" stands for the marker

    def text(self, field: int) -> str:
        return self.template.replace("{m}", marker(self.key, field))


def marker(key: str, field: int) -> str:
    return f"{key}f{field:02d}"


_TEMPLATES = (
    "<script>__xss('{m}')</script>",
    "<img src=x onerror=\"__xss('{m}')\">",
    "<svg/onload=__xss('{m}')>",
    "\"><script>__xss('{m}')</script>",
    "'><img src=x onerror=__xss('{m}')>",
    "<iframe srcdoc=\"<script>parent.__xss('{m}')</script>\"></iframe>",
    "javascript:__xss('{m}')",
    "[{m} link](javascript:__xss('{m}'))",
    "![{m}](x\" onerror=\"__xss('{m}'))",
    "<a href=\"javascript:__xss('{m}')\">{m}</a>",
    "<a href=\"data:text/html,<script>parent.__xss('{m}')</script>\">{m}</a>",
    "<div style=\"width:expression(__xss('{m}'));background:url('javascript:__xss(`{m}`)')\">{m}</div>",
    "{m}={{7*7}} ${7*7} #{7*7} {% debug %}",
    "&lt;script&gt;__xss('{m}')&lt;/script&gt;",
    "&#60;img src=x onerror=__xss('{m}')&#62;",
    "\\u003cscript\\u003e__xss('{m}')\\u003c/script\\u003e ＜script＞__xss('{m}')＜/script＞",
    "</textarea></title><script>__xss('{m}')</script>",
    "<details open ontoggle=__xss('{m}')>{m}</details>",
    "<input autofocus onfocus=__xss('{m}')>",
    "<object data=\"javascript:__xss('{m}')\"></object><embed src=\"javascript:__xss('{m}')\">",
    "<noscript><p title=\"</noscript><img src=x onerror=__xss('{m}')>\">{m}</p></noscript>",
    "<a href=\"jav&#x09;ascript:__xss('{m}')\">{m}</a>",
    "<svg><a xlink:href=\"javascript:__xss('{m}')\"><text x=\"9\" y=\"9\">{m}</text></a></svg>",
    "\" autofocus onfocus=\"__xss('{m}')\" x=\"",
    "<div hx-get=\"/\" hx-trigger=\"load\" hx-on::before-request=\"__xss('{m}')\">{m}</div>",
    "<svg><animate onbegin=alert('{m}') attributeName=x dur=1s></svg>",
)

PAYLOADS = tuple(Payload(f"x{n:02d}", template) for n, template in enumerate(_TEMPLATES, start=1))


def all_payloads(field: int, sep: str = "\n") -> str:
    """The whole corpus in one text, one payload a line."""
    return sep.join(p.text(field) for p in PAYLOADS)


def html_corpus(field: int) -> str:
    """The corpus as an HTML document, the way a hostile email's HTML part carries it."""
    body = "".join(f"<p>{p.text(field)}</p>" for p in PAYLOADS)
    m = marker("x00", field)
    return f"<html><head><title>{m}</title><base href=\"javascript:__xss('{m}')//\">" \
           f"<meta http-equiv=\"refresh\" content=\"0;url=javascript:__xss('{m}')\"></head>" \
           f"<body onload=\"__xss('{m}')\">{body}</body></html>"


def markdown_corpus(field: int) -> str:
    """The Markdown ways in: links and images with script URLs, raw HTML, reference links."""
    m = marker("x90", field)
    return "\n\n".join([
        f"[{m} plain](javascript:__xss('{m}'))",
        f"[{m} spaced](  javascript:__xss('{m}') )",
        f"[{m} entity](jav&#x61;script:__xss('{m}'))",
        f"![{m} image](javascript:__xss('{m}'))",
        f"[{m} data](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX194c3MoJ3gnKTwvc2NyaXB0Pg==)",
        f"[{m} ref][evil]\n\n[evil]: javascript:__xss('{m}')",
        f"<script>__xss('{m}')</script>",
        f"| a | b |\n|---|---|\n| <img src=x onerror=__xss('{m}')> | {m} |",
        f"<{m}@example.com> <javascript:__xss('{m}')>",
    ])


def hostile_email(*, sender: tuple[str, str], subject: str, text: str, html: str, attachments: dict[str, bytes],
                  to: str = "support@kefu.localhost", headers: dict[str, str] | None = None) -> bytes:
    """A real MIME message from (display name, address): text and HTML alternatives, and attachments under
    hostile names."""
    msg = EmailMessage()
    msg["From"] = Address(display_name=sender[0], addr_spec=sender[1])
    msg["To"], msg["Subject"] = to, " ".join(subject.split())
    msg["Message-ID"] = make_msgid(domain="example.com")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    for filename, content in attachments.items():
        msg.add_attachment(content, maintype="text", subtype="plain", filename=filename)
    return msg.as_bytes()


# Run in every page and frame before the page's own scripts: a payload that runs reports itself, and so does a
# Content-Security-Policy violation (something tried to run that the policy stopped).
INIT_SCRIPT = """
(() => {
  const report = (kind, detail) => { try { window.__xssReport(kind, String(detail), location.href); } catch (e) {} };
  window.__xss = (id) => report("executed", id);
  document.addEventListener("securitypolicyviolation",
    (e) => report("csp", `${e.violatedDirective} ${e.blockedURI} ${e.sample || ""}`));
})();
"""

# Run after a page has loaded: markup a payload slipped into the page, active or not yet triggered.
INERT_ATTRIBUTES = ("value", "title", "alt", "placeholder", "aria-label", "content")
SCAN_SCRIPT = """
(inert) => {
  const found = [];
  const active = /^\\s*(javascript|vbscript|data):/i;
  const urlAttrs = ["href", "src", "action", "formaction", "data", "xlink:href", "srcdoc", "background", "poster"];
  const roots = [document];
  for (const frame of document.querySelectorAll("iframe")) {
    try { if (frame.contentDocument) roots.push(frame.contentDocument); } catch (e) {}
  }
  for (const root of roots) {
    for (const el of root.querySelectorAll("*")) {
      const tag = el.tagName.toLowerCase();
      if ((tag === "script" || tag === "style") && /__xss|x\\d\\df\\d\\d/.test(el.textContent)) {
        found.push(`<${tag}> ${el.textContent.slice(0, 80)}`);
      }
      const framing = ["iframe", "object", "embed", "base", "meta", "frame"].includes(tag);
      if (framing && /__xss|x\\d\\df\\d\\d/.test(el.outerHTML)) {
        found.push(`<${tag}> ${el.outerHTML.slice(0, 120)}`);
      }
      for (const attr of el.attributes) {
        const name = attr.name.toLowerCase();
        const value = attr.value;
        if (inert.includes(name) || name.startsWith("data-")) continue;
        const script = urlAttrs.includes(name) && active.test(value) && /x\\d\\d/.test(value);
        const hostile = /__xss|alert\\(/.test(value) || script;
        if (hostile) found.push(`<${tag} ${name}="${value.slice(0, 100)}">`);
      }
    }
  }
  return found;
}
"""


def evaluated_templates(text: str) -> list[str]:
    """Markers whose ``{{7*7}}`` came out as 49: the text went through a template engine."""
    return re.findall(r"(x\d\df\d\d)=49", text)
