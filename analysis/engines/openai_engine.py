"""An engine for any OpenAI-compatible completions server (`vllm serve`, a load balancer over replicas, ...).

Prompts are sent to `POST {base_url}/completions`, `prompts_per_request` at a time (the `prompt` field takes a
list), with at most `concurrency` requests in flight; chat prompts (message lists) go one per request to
`POST {base_url}/chat/completions`, where the server applies the model's chat template. 429 and 5xx answers
and dropped connections are retried with exponential backoff, honouring `Retry-After`. Token counts are per
completion only when a request holds a single completion: the `usage` block of the API is per request, so
with several prompts or samples in one request the completion's own counts are unknown (None), not guessed.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from analysis.engines.base import (
    Completion,
    EngineError,
    EngineUnreachableError,
    Prompt,
    SamplingSettings,
    UnknownModelError,
    is_chat,
)

log = logging.getLogger(__name__)

API_KEY_ENV = "OPENAI_API_KEY"
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_UNKNOWN_MODEL_MARKERS = ("does not exist", "model_not_found", "unknown model", "not found")


class OpenAIEngine:
    """Completions from an OpenAI-compatible server. Thread-safe; `close()` releases the worker threads."""

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        concurrency: int = 4,
        prompts_per_request: int = 1,
        max_retries: int = 6,
        backoff_s: float = 0.5,
        max_backoff_s: float = 60.0,
        timeout_s: float = 600.0,
    ) -> None:
        if concurrency < 1 or prompts_per_request < 1:
            raise ValueError("concurrency and prompts_per_request must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        self.concurrency = concurrency
        self.prompts_per_request = prompts_per_request
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self.retries = 0  # how many retries were needed so far (observability and tests)
        self._retries_lock = threading.Lock()
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="openai-engine")

    # -- public -------------------------------------------------------------------------------------------

    def served_models(self) -> list[str] | None:
        """The model ids from `GET {base_url}/models`, or None when the server does not list them."""
        try:
            resp = self._session().get(f"{self.base_url}/models", headers=self._headers(), timeout=30)
        except requests.RequestException as exc:
            raise EngineUnreachableError(self._unreachable_message(exc)) from exc
        if resp.status_code != 200:
            return None
        try:
            return [str(m["id"]) for m in resp.json().get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def check(self) -> None:
        """Fail fast, before any work: the server must answer and (if it lists models) serve `self.model`."""
        served = self.served_models()
        if served is not None and self.model not in served:
            raise UnknownModelError(self._unknown_model_message(served))

    def generate(self, prompts: Sequence[Prompt], settings: SamplingSettings) -> list[list[Completion]]:
        chunks: list[list[Prompt]] = []
        for prompt in prompts:
            if is_chat(prompt) or not chunks or is_chat(chunks[-1][0]) or len(chunks[-1]) >= self.prompts_per_request:
                chunks.append([prompt])
            else:
                chunks[-1].append(prompt)
        results: list[list[Completion]] = []
        for chunk_result in self._pool.map(lambda chunk: self._complete(chunk, settings), chunks):
            results.extend(chunk_result)
        return results

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- one request ------------------------------------------------------------------------------------

    def _complete(self, prompts: list[Prompt], settings: SamplingSettings) -> list[list[Completion]]:
        chat = is_chat(prompts[0])
        payload: dict[str, Any] = {"model": self.model}
        if chat:
            payload["messages"] = [dict(m) for m in prompts[0]]
        else:
            payload["prompt"] = prompts if len(prompts) > 1 else prompts[0]
        payload |= {
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "n": settings.n,
        }
        if settings.stop:
            payload["stop"] = list(settings.stop)
        if settings.seed is not None:
            payload["seed"] = settings.seed
        url = f"{self.base_url}/chat/completions" if chat else f"{self.base_url}/completions"
        for attempt in range(self.max_retries + 1):
            last_try = attempt == self.max_retries
            started = time.perf_counter()
            try:
                resp = self._session().post(url, json=payload, headers=self._headers(), timeout=self.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last_try:
                    raise EngineUnreachableError(self._unreachable_message(exc)) from exc
                self._wait(attempt, None, f"{type(exc).__name__}")
                continue
            latency = time.perf_counter() - started
            if resp.status_code == 200:
                return self._parse(resp, len(prompts), settings, latency)
            if resp.status_code in RETRY_STATUSES and not last_try:
                self._wait(attempt, _retry_after_s(resp), f"HTTP {resp.status_code}")
                continue
            if self._is_unknown_model(resp):
                raise UnknownModelError(self._unknown_model_message(self._served_models_quietly()))
            raise EngineError(
                f"{url} answered HTTP {resp.status_code} after {attempt + 1} attempt(s): {_short(resp.text)}"
            )
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt

    def _parse(
        self, resp: requests.Response, n_prompts: int, settings: SamplingSettings, latency: float
    ) -> list[list[Completion]]:
        try:
            body = resp.json()
            choices = sorted(body["choices"], key=lambda c: int(c.get("index", 0)))
            usage = body.get("usage") or {}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EngineError(f"malformed completions response from {self.base_url}: {_short(resp.text)}") from exc
        expected = n_prompts * settings.n
        if len(choices) != expected:
            raise EngineError(f"server returned {len(choices)} completions for {expected} requested")
        single = expected == 1
        one_prompt = n_prompts == 1
        out: list[list[Completion]] = []
        for i in range(n_prompts):
            samples = []
            for choice in choices[i * settings.n : (i + 1) * settings.n]:
                samples.append(
                    Completion(
                        text=_choice_text(choice),
                        finish_reason=choice.get("finish_reason"),
                        prompt_tokens=usage.get("prompt_tokens") if one_prompt else None,
                        completion_tokens=usage.get("completion_tokens") if single else None,
                        latency_s=latency,
                    )
                )
            out.append(samples)
        return out

    # -- helpers ----------------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _wait(self, attempt: int, retry_after: float | None, why: str) -> None:
        delay = retry_after if retry_after is not None else self.backoff_s * (2**attempt)
        delay = min(delay, self.max_backoff_s)
        if retry_after is None:
            delay += random.uniform(0, delay * 0.1)  # jitter, so replicas behind a balancer are not hit in step
        with self._retries_lock:
            self.retries += 1
        log.warning("%s from %s; retrying in %.2fs (attempt %d of %d)", why, self.base_url, delay, attempt + 2,
                    self.max_retries + 1)
        time.sleep(delay)

    @staticmethod
    def _is_unknown_model(resp: requests.Response) -> bool:
        if resp.status_code == 404:
            return True
        if resp.status_code in (400, 422):
            text = resp.text.lower()
            return "model" in text and any(marker in text for marker in _UNKNOWN_MODEL_MARKERS)
        return False

    def _served_models_quietly(self) -> list[str] | None:
        try:
            return self.served_models()
        except EngineError:
            return None

    def _unknown_model_message(self, served: list[str] | None) -> str:
        listed = ", ".join(served) if served else "(the server did not list its models)"
        return f"model {self.model!r} is not served at {self.base_url}; served models: {listed}"

    def _unreachable_message(self, exc: Exception) -> str:
        return (
            f"cannot reach the OpenAI-compatible server at {self.base_url} ({type(exc).__name__}); "
            "is it running and is --base-url right?"
        )


def _retry_after_s(resp: requests.Response) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), or None."""
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _choice_text(choice: dict[str, Any]) -> str:
    """`text` for completions, `message.content` for chat completions."""
    if "text" in choice:
        return str(choice["text"] or "")
    message = choice.get("message") or {}
    return str(message.get("content") or "")


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
