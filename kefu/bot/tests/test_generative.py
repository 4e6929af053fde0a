"""Generative answers against a real OpenAI-compatible HTTP server on loopback (kefu.testing.fake_llm)."""

from __future__ import annotations

import json
import re
import threading
import time
import traceback
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from kefu.bot.generative import (
    MAX_HISTORY_TURNS,
    MAX_SOURCE_CHARS,
    MAX_SOURCES_CHARS,
    GeneratedAnswer,
    GenerationFailed,
    LlmConfig,
    Source,
    generate_answer,
)
from kefu.testing.fake_llm import serve_fake_llm
from kefu.testing.net import free_port

KEY = "sk-test-5f1c0a9e"
REFUND = Source(1, "Refunds", "Refunds reach your card within 5 working days. Cash refunds are paid in store.",
                "https://help.example/kb/refunds")
DELIVERY = Source(2, "Delivery", "Parcels ship within 24 hours. Tracking numbers arrive by SMS.",
                  "https://help.example/kb/delivery")
SOURCES = (REFUND, DELIVERY)
CJK = re.compile(r"[\u4e00-\u9fff]")


def config(url: str, **kwargs: Any) -> LlmConfig:
    return LlmConfig(**{"url": url, "model": "qwen2.5-7b-instruct", "api_key": KEY, "timeout_s": 5.0, **kwargs})


def failure(url: str, *, sources: tuple[Source, ...] = SOURCES, **kwargs: Any) -> GenerationFailed:
    with pytest.raises(GenerationFailed) as caught:
        generate_answer("When do I get my refund?", sources, config=config(url, **kwargs), language="en")
    return caught.value


def full_text(exc: BaseException) -> str:
    """The messages of the exception and of those it was raised from, as a log would show them."""
    messages: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        messages.extend(traceback.format_exception_only(current))
        messages.append(repr(current))
        current = current.__cause__ or current.__context__
    return "".join(messages)


def test_answer_is_the_models_text_citing_the_sources_it_used() -> None:
    with serve_fake_llm(api_key=KEY) as llm:
        answer = generate_answer("When do I get my refund?", SOURCES, config=config(llm.url), language="en")

    assert answer == GeneratedAnswer(text="Refunds reach your card within 5 working days. [1]", cited=(1,))


def test_citations_are_listed_once_in_order_of_first_appearance() -> None:
    reply = "Parcels ship within a day [2]. Refunds take 5 days [1, 2]. See also [2]."
    with serve_fake_llm(reply=reply) as llm:
        answer = generate_answer("Shipping and refunds?", SOURCES, config=config(llm.url), language="en")

    assert answer.cited == (2, 1)
    assert answer.text == "Parcels ship within a day [2]. Refunds take 5 days [1][2]. See also [2]."


def test_full_width_citations_of_chinese_models_are_written_as_brackets() -> None:
    with serve_fake_llm(reply="退款五个工作日内到账【1】。") as llm:
        answer = generate_answer("退款多久到账？", SOURCES, config=config(llm.url), language="zh-hans")

    assert answer == GeneratedAnswer(text="退款五个工作日内到账[1]。", cited=(1,))


def test_a_reasoning_models_deliberation_is_not_part_of_the_answer() -> None:
    reply = "<think>Maybe NO_ANSWER? No, source 1 says 5 days.</think>\nWithin 5 working days [1]."
    with serve_fake_llm(reply=reply) as llm:
        answer = generate_answer("When do I get my refund?", SOURCES, config=config(llm.url), language="en")

    assert answer.text == "Within 5 working days [1]."


def test_request_carries_model_key_sources_and_question() -> None:
    with serve_fake_llm(api_key=KEY) as llm:
        generate_answer("When do I get my refund?", SOURCES, config=config(llm.url, max_tokens=300, temperature=0.1),
                        language="en")

    (body,) = llm.requests
    assert llm.headers[0]["Authorization"] == f"Bearer {KEY}"
    assert llm.headers[0]["Content-Type"] == "application/json"
    assert (body["model"], body["max_tokens"], body["temperature"]) == ("qwen2.5-7b-instruct", 300, 0.1)
    system, question = body["messages"]
    assert system["role"] == "system"
    assert "NO_ANSWER" in system["content"] and "[1]" in system["content"]
    assert "[1] Refunds\nRefunds reach your card" in system["content"]
    assert "[2] Delivery\nParcels ship" in system["content"]
    assert "https://help.example" not in system["content"]  # the model cites numbers; the caller links them
    assert not CJK.search(system["content"])
    assert question == {"role": "user", "content": "When do I get my refund?"}


def test_chinese_customers_get_a_chinese_prompt() -> None:
    with serve_fake_llm() as llm:
        generate_answer("退款多久到账？", SOURCES, config=config(llm.url), language="zh-hans")

    system = llm.requests[0]["messages"][0]["content"]
    assert CJK.search(system.split("[1]")[0])
    assert "NO_ANSWER" in system
    assert llm.requests[0]["messages"][-1] == {"role": "user", "content": "退款多久到账？"}


def test_no_authorization_header_without_a_key() -> None:
    with serve_fake_llm() as llm:
        generate_answer("When do I get my refund?", SOURCES, config=config(llm.url, api_key=""), language="en")

    assert "Authorization" not in llm.headers[0]


def test_wrong_key_is_http_401_and_no_exception_text_holds_a_key() -> None:
    with serve_fake_llm(api_key="sk-the-right-one") as llm:
        exc = failure(llm.url)

    assert exc.reason == "http_401"
    assert KEY not in full_text(exc) and "sk-the-right-one" not in full_text(exc)


def test_server_error_is_http_500() -> None:
    with serve_fake_llm(status=500) as llm:
        assert failure(llm.url).reason == "http_500"


@pytest.mark.parametrize("raw", [b"<html>Bad gateway</html>", b'{"choices": []}', b'{"choices": [{"message": 1}]}',
                                 b'{"choices": [{"message": {"role": "assistant", "content": null}}]}', b"[" * 100_000])
def test_a_reply_that_is_not_a_chat_completion_is_a_bad_response(raw: bytes) -> None:
    with serve_fake_llm(raw=raw) as llm:
        assert failure(llm.url).reason == "bad_response"


def test_a_refusal_in_its_own_field_is_refused() -> None:
    raw = json.dumps({"choices": [{"message": {"role": "assistant", "content": None, "refusal": "I can't."}}]})
    with serve_fake_llm(raw=raw.encode()) as llm:
        assert failure(llm.url).reason == "refused"


def test_citing_a_source_it_was_not_given_is_refused() -> None:
    with serve_fake_llm(reply="Refunds take 5 days [1], as the policy says [7].") as llm:
        assert failure(llm.url).reason == "unknown_citation"


def test_an_answer_without_citation_is_refused() -> None:
    with serve_fake_llm(reply="Refunds take about a week.") as llm:
        assert failure(llm.url).reason == "no_citation"


@pytest.mark.parametrize("reply", ["NO_ANSWER", "Sorry, NO_ANSWER.", "no_answer"])
def test_no_answer_is_refused(reply: str) -> None:
    with serve_fake_llm(reply=reply) as llm:
        assert failure(llm.url).reason == "refused"


def test_a_slow_endpoint_times_out() -> None:
    with serve_fake_llm(delay_s=1.0, api_key=KEY) as llm:
        started = time.monotonic()
        exc = failure(llm.url, timeout_s=0.3)
        waited = time.monotonic() - started

    assert exc.reason == "timeout"
    assert waited < 0.9
    assert KEY not in full_text(exc)


def test_nothing_listening_is_unreachable() -> None:
    exc = failure(f"http://127.0.0.1:{free_port()}/v1")

    assert exc.reason == "unreachable"
    assert KEY not in full_text(exc)


@contextmanager
def redirecting_endpoint() -> Iterator[tuple[str, list[str]]]:
    """An endpoint that redirects the completion elsewhere; yields its URL and the paths of requests that followed."""
    followed: list[str] = []

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._send(302)

        def do_GET(self) -> None:
            followed.append(self.path)
            self._send(404)

        def _send(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with HTTPServer(("127.0.0.1", 0), Redirect) as server:
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/v1", followed
        finally:
            server.shutdown()
            thread.join()


def test_a_redirect_is_not_followed_with_the_key() -> None:
    # urllib would follow a 302 as a GET, Authorization header included, to whichever host the Location names.
    with redirecting_endpoint() as (url, followed):
        assert failure(url).reason == "http_302"

    assert followed == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/v1", "127.0.0.1:8080/v1", "http:///v1",
                                 "http://user:pass@127.0.0.1/v1", "http://127.0.0.1:port/v1"])
def test_an_endpoint_that_is_not_an_http_url_is_rejected_before_any_request(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_request(*args: object, **kwargs: object) -> None:
        raise AssertionError("a request was made")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_request)
    with pytest.raises(ValueError, match="LLM endpoint") as caught:
        generate_answer("When do I get my refund?", SOURCES, config=config(url), language="en")

    assert "pass" not in str(caught.value)


def test_a_key_that_cannot_be_a_header_is_rejected_without_quoting_it() -> None:
    with serve_fake_llm() as llm, pytest.raises(ValueError, match="API key") as caught:
        generate_answer("When do I get my refund?", SOURCES, config=config(llm.url, api_key="sk-secret\r\nX: 1"),
                        language="en")

    assert "sk-secret" not in full_text(caught.value)
    assert llm.requests == []
    assert "sk-secret" not in repr(config(llm.url, api_key="sk-secret"))


def test_no_sources_fails_without_a_request() -> None:
    with serve_fake_llm() as llm:
        assert failure(llm.url, sources=()).reason == "no_sources"

    assert llm.requests == []


def test_history_is_sent_before_the_question_but_only_its_last_turns() -> None:
    history = [("user" if n % 2 == 0 else "assistant", f"turn {n}") for n in range(10)]
    with serve_fake_llm() as llm:
        generate_answer("And to my card?", SOURCES, config=config(llm.url), history=history, language="en")

    messages = llm.requests[0]["messages"]
    assert MAX_HISTORY_TURNS == 6
    assert [(m["role"], m["content"]) for m in messages[1:]] == [*history[4:], ("user", "And to my card?")]


def test_history_starts_with_the_customer_and_alternates() -> None:
    history = [("assistant", "Hello! How can I help?"), ("user", "My refund."), ("user", "It is late.")]
    with serve_fake_llm() as llm:
        generate_answer("When does it come?", SOURCES, config=config(llm.url), history=history, language="en")

    assert llm.requests[0]["messages"][1:] == [
        {"role": "user", "content": "My refund.\n\nIt is late.\n\nWhen does it come?"},
    ]


def test_sources_are_cut_and_those_beyond_the_budget_are_not_sent_and_cannot_be_cited() -> None:
    long = [Source(n, f"Article {n}", f"Sentence of article {n}. " + "x" * 5000, f"https://help.example/{n}")
            for n in range(1, 11)]
    with serve_fake_llm(reply="See the last article [10].") as llm:
        assert failure(llm.url, sources=tuple(long)).reason == "unknown_citation"

    system = llm.requests[0]["messages"][0]["content"]
    blocks = re.findall(r"^\[(\d+)\] Article \d+\n(.*)$", system, re.MULTILINE)
    assert all(len(text) <= MAX_SOURCE_CHARS for _, text in blocks)
    assert sum(len(text) for _, text in blocks) <= MAX_SOURCES_CHARS
    assert [int(n) for n, _ in blocks] == list(range(1, MAX_SOURCES_CHARS // MAX_SOURCE_CHARS + 1))
