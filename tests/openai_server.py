"""A loopback OpenAI-compatible server that answers from Abel's published outputs (for tests and benchmarks).

`POST /v1/completions` looks each prompt up exactly in the files of the served model (e.g. `Abel-7B-001` ->
`gsm8k/7b.jsonl`, `gsm8k_robust/7b.jsonl`) and returns Abel's published response; `POST /v1/chat/completions`
looks up the last user message the same way; `GET /v1/models` lists the served names. `max_tokens` is
honoured on whitespace tokens (the text is cut after the max_tokens-th token and the finish reason is
"length"), `stop` strings cut the text, and `usage` counts whitespace tokens. Faults can be injected: the
next N requests answer 503 (or 429 with `Retry-After`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Served model name -> the Abel output files (relative to the outputs directory) it answers from.
DEFAULT_MODELS: dict[str, tuple[str, ...]] = {
    "Abel-7B-001": ("gsm8k/7b.jsonl", "gsm8k_robust/7b.jsonl"),
    "Abel-13B-001": ("gsm8k/13b.jsonl", "gsm8k_robust/13b.jsonl"),
    "Abel-70B-001": ("gsm8k/70b.jsonl", "gsm8k_robust/70b.jsonl", "mathgpt/70b.jsonl"),
}

_TOKEN = re.compile(r"\S+")


def _count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def _cut(text: str, max_tokens: int, stop: list[str]) -> tuple[str, str]:
    """Apply stop strings, then the token limit; return (text, finish_reason)."""
    for s in stop:
        pos = text.find(s)
        if s and pos >= 0:
            text = text[:pos]
    tokens = list(_TOKEN.finditer(text))
    if len(tokens) > max_tokens:
        return text[: tokens[max_tokens - 1].end()], "length"
    return text, "stop"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):  # a killed client: expected in tests
            return
        super().handle_error(request, client_address)


class AbelOutputsServer:
    """Start with `start()` (or use `serve_abel_outputs`); `url` is the `/v1` base URL."""

    def __init__(
        self,
        outputs_dir: Path,
        models: dict[str, tuple[str, ...]] | None = None,
        *,
        delay_s: float = 0.0,
        responder: Callable[[str, str], str | None] | None = None,
    ) -> None:
        self.outputs_dir = Path(outputs_dir)
        # Answers prompts that are not among the published outputs (e.g. a judge's prompts): (model, prompt) -> text.
        self.responder = responder
        self.models = dict(models or DEFAULT_MODELS)
        self.delay_s = delay_s  # simulated generation time per request
        self.requests = 0  # completions requests received (including the failed ones)
        self.prompts_served = 0
        self._lock = threading.Lock()
        self._answers: dict[str, dict[str, str]] = {}
        self._faults: list[tuple[int, float | None]] = []  # (status, retry_after) for the next requests
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ----------------------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503, retry_after: float | None = None) -> None:
        with self._lock:
            self._faults.extend([(status, retry_after)] * count)

    def answers(self, model: str) -> dict[str, str]:
        """prompt -> published response for a served model (read once)."""
        with self._lock:
            if model not in self._answers:
                table: dict[str, str] = {}
                for rel in self.models[model]:
                    path = self.outputs_dir / rel
                    with path.open(encoding="utf-8") as fh:
                        for line in fh:
                            if line.strip():
                                rec = json.loads(line)
                                table.setdefault(rec["prompt"], rec["response"])
                self._answers[model] = table
            return self._answers[model]

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> AbelOutputsServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes: avoid 40 ms stalls

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.rstrip("/") == "/v1/models":
                    data = [{"id": name, "object": "model", "owned_by": "abel-triage-tests"} for name in server.models]
                    self._json(200, {"object": "list", "data": data})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "NotFoundError"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                route = self.path.rstrip("/")
                if route not in ("/v1/completions", "/v1/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "NotFoundError"}})
                    return
                with server._lock:
                    server.requests += 1
                    fault = server._faults.pop(0) if server._faults else None
                if fault is not None:
                    status, retry_after = fault
                    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
                    self._json(status, {"error": {"message": "injected fault", "code": status}}, headers)
                    return
                req = json.loads(body)
                if route == "/v1/chat/completions":
                    status, payload = server._chat(req)
                else:
                    status, payload = server._complete(req)
                self._json(status, payload)

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="abel-openai-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    # -- the completions endpoints ----------------------------------------------------------------------

    def _chat(self, req: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        users = [m.get("content", "") for m in req.get("messages") or [] if m.get("role") == "user"]
        status, payload = self._complete({**req, "prompt": users[-1] if users else ""})
        if status == 200:
            payload["object"] = "chat.completion"
            payload["choices"] = [
                {"index": c["index"], "message": {"role": "assistant", "content": c["text"]},
                 "finish_reason": c["finish_reason"]}
                for c in payload["choices"]
            ]
        return status, payload

    def _complete(self, req: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        model = req.get("model")
        if model not in self.models:
            message = f"The model `{model}` does not exist."
            return 404, {"error": {"message": message, "type": "NotFoundError", "code": 404}}
        prompts = req.get("prompt")
        prompts = [prompts] if isinstance(prompts, str) else list(prompts or [])
        n = int(req.get("n") or 1)
        max_tokens = int(req.get("max_tokens") or 16)
        stop = req.get("stop") or []
        stop = [stop] if isinstance(stop, str) else list(stop)
        table = self.answers(model)
        if self.delay_s:
            time.sleep(self.delay_s)
        choices = []
        prompt_tokens = completion_tokens = 0
        for i, prompt in enumerate(prompts):
            answer = table.get(prompt)
            if answer is None and self.responder is not None:
                answer = self.responder(model, prompt)
            if answer is None:
                return 400, {"error": {"message": f"prompt {i} not among the published outputs of {model}",
                                       "type": "BadRequestError", "code": 400}}
            text, finish = _cut(answer, max_tokens, stop)
            prompt_tokens += _count_tokens(prompt)
            for j in range(n):
                choices.append({"index": i * n + j, "text": text, "finish_reason": finish, "logprobs": None})
                completion_tokens += _count_tokens(text)
        with self._lock:
            self.prompts_served += len(prompts)
        return 200, {
            "id": f"cmpl-{self.requests}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": model,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


@contextmanager
def serve_abel_outputs(outputs_dir: Path, **kwargs: Any) -> Iterator[AbelOutputsServer]:
    server = AbelOutputsServer(outputs_dir, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":  # manual use: python -m tests.openai_server [OUTPUTS_DIR]
    import sys

    default = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "abel-outputs"
    srv = AbelOutputsServer(Path(sys.argv[1]) if len(sys.argv) > 1 else default).start()
    print(f"serving {', '.join(srv.models)} at {srv.url} (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.stop()
