"""The engines: vLLM through a stand-in with vLLM's interface (and the real thing under `-m gpu`), and the
OpenAI-compatible engine against the loopback server of tests/openai_server.py."""

from __future__ import annotations

import json
import random
import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from analysis.engines import (
    EngineError,
    EngineUnavailableError,
    EngineUnreachableError,
    SamplingSettings,
    UnknownModelError,
    make_engine,
)
from analysis.engines.openai_engine import OpenAIEngine
from analysis.engines.vllm_engine import VllmEngine
from tests.openai_server import serve_abel_outputs

# -- vLLM through a stand-in ---------------------------------------------------------------------------------


class FakeSamplingParams:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


class FakeLLM:
    """vLLM's `LLM` as far as the engine uses it: finishes requests out of order, ids from a global counter."""

    instances: list[FakeLLM] = []
    counter = 40  # vLLM's request counter does not restart per call

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[tuple[list[str], FakeSamplingParams, dict[str, Any]]] = []
        FakeLLM.instances.append(self)

    def generate(self, prompts: list[str], params: FakeSamplingParams, **kwargs: Any) -> list[Any]:
        self.calls.append((prompts, params, kwargs))
        n = params.kwargs["n"]
        outs = []
        for prompt in prompts:
            FakeLLM.counter += 1
            outs.append(
                SimpleNamespace(
                    request_id=str(FakeLLM.counter),
                    prompt=prompt,
                    prompt_token_ids=list(range(len(prompt.split()))),
                    outputs=[
                        SimpleNamespace(
                            text=f"{prompt} -> sample {j}",
                            token_ids=[1] * (j + 2),
                            finish_reason="length" if prompt.endswith("long") else "stop",
                        )
                        for j in range(n)
                    ],
                )
            )
        random.Random(7).shuffle(outs)  # finished in a different order than submitted
        return outs


class ChatFakeLLM(FakeLLM):
    def chat(self, conversations: list[list[dict[str, str]]], params: FakeSamplingParams, **kwargs: Any) -> list[Any]:
        # vLLM renders the chat template itself, so its `prompt` is not the caller's user message.
        return self.generate([f"<user>{c[-1]['content']}" for c in conversations], params, **kwargs)


def fake_vllm() -> SimpleNamespace:
    return SimpleNamespace(LLM=FakeLLM, SamplingParams=FakeSamplingParams)


def test_vllm_builds_sampling_params_and_llm_from_settings() -> None:
    engine = VllmEngine(model_path="GAIR/GAIRMath-Abel-7b", tensor_parallel_size=2, vllm_module=fake_vllm(),
                        dtype="bfloat16")
    llm = FakeLLM.instances[-1]
    assert llm.kwargs == {"model": "GAIR/GAIRMath-Abel-7b", "tensor_parallel_size": 2, "dtype": "bfloat16"}
    settings = SamplingSettings(temperature=0.7, top_p=0.9, max_tokens=512, stop=("</s>", "Question:"), n=3, seed=11)
    engine.generate(["a b c"], settings)
    _, params, kwargs = llm.calls[-1]
    assert params.kwargs == {
        "temperature": 0.7, "top_p": 0.9, "max_tokens": 512, "stop": ["</s>", "Question:"], "n": 3, "seed": 11,
    }
    assert kwargs == {"use_tqdm": False}
    engine.generate(["x"], SamplingSettings())
    assert llm.calls[-1][1].kwargs == {
        "temperature": 0.0, "top_p": 1.0, "max_tokens": 2048, "stop": None, "n": 1, "seed": None,
    }


def test_vllm_results_come_back_in_input_order_with_counts() -> None:
    engine = make_engine("vllm", model_path="m", tensor_parallel_size=1, vllm_module=fake_vllm())
    prompts = [f"question {i}" for i in range(12)] + ["question long"]
    results = engine.generate(prompts, SamplingSettings(n=2))
    assert [r[0].text for r in results] == [f"{p} -> sample 0" for p in prompts]
    assert [r[1].text for r in results] == [f"{p} -> sample 1" for p in prompts]
    assert results[0][0].prompt_tokens == 2 and results[0][0].completion_tokens == 2
    assert results[0][1].completion_tokens == 3
    assert [r[0].finish_reason for r in results][-2:] == ["stop", "length"]
    assert all(c.latency_s >= 0 for r in results for c in r)


def test_vllm_order_falls_back_to_prompt_text_when_ids_are_not_numbers() -> None:
    class UuidLLM(FakeLLM):
        def generate(self, prompts: list[str], params: FakeSamplingParams, **kwargs: Any) -> list[Any]:
            outs = super().generate(prompts, params, **kwargs)
            for o in outs:
                o.request_id = f"req-{o.request_id}"
            return outs

    engine = VllmEngine(model_path="m", tensor_parallel_size=1, vllm_module=fake_vllm(), llm_factory=UuidLLM)
    prompts = ["p1", "p2", "p1", "p3"]  # a duplicate prompt too
    results = engine.generate(prompts, SamplingSettings())
    assert [r[0].text for r in results] == [f"{p} -> sample 0" for p in prompts]


def test_vllm_chat_conversations_go_through_llm_chat_in_order() -> None:
    engine = VllmEngine(model_path="m", tensor_parallel_size=1, vllm_module=fake_vllm(), llm_factory=ChatFakeLLM)
    conversations = [[{"role": "system", "content": "be careful"}, {"role": "user", "content": f"q{i}"}]
                     for i in range(6)]
    results = engine.generate(conversations, SamplingSettings())
    assert [r[0].text for r in results] == [f"<user>q{i} -> sample 0" for i in range(6)]
    with pytest.raises(EngineError, match="all completion prompts or all chat"):
        engine.generate(["plain", conversations[0]], SamplingSettings())


def test_vllm_tensor_parallel_defaults_to_visible_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    import analysis.engines.vllm_engine as mod

    monkeypatch.setattr(mod, "visible_gpu_count", lambda: 4)
    VllmEngine(model_path="m", vllm_module=fake_vllm())
    assert FakeLLM.instances[-1].kwargs["tensor_parallel_size"] == 4


def test_vllm_missing_is_a_clear_error() -> None:
    try:
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("vLLM is installed here")
    with pytest.raises(EngineUnavailableError, match=r"pip install -e '\.\[vllm\]'"):
        VllmEngine(model_path="m")


@pytest.mark.gpu
def test_vllm_real_generation_keeps_order() -> None:
    pytest.importorskip("vllm")
    import os

    model = os.environ.get("ABEL_TRIAGE_GPU_TEST_MODEL", "facebook/opt-125m")
    engine = VllmEngine(model_path=model, gpu_memory_utilization=0.5)
    prompts = ["The capital of France is", "1, 2, 3, 4,", "Hello"]
    settings = SamplingSettings(max_tokens=8, seed=0)
    first = engine.generate(prompts, settings)
    alone = [engine.generate([p], settings)[0][0].text for p in prompts]
    assert [r[0].text for r in first] == alone  # greedy: batched output equals one-by-one output, in order
    assert all(r[0].finish_reason in ("stop", "length") and r[0].completion_tokens for r in first)
    engine.close()


# -- OpenAI-compatible engine against the loopback server ---------------------------------------------------

RECORDS = [
    {"id": i, "prompt": f"Question:\nWhat is {i} + {i}?\nAnswer:\nLet's think step by step.\n",
     "response": f"We add {i} and {i} to get {2 * i}. Then we stop.\n#### {2 * i}"}
    for i in range(10)
]


@pytest.fixture
def tiny_outputs(tmp_path: Path) -> Path:
    (tmp_path / "tiny.jsonl").write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def server(tiny_outputs: Path):  # type: ignore[no-untyped-def]
    with serve_abel_outputs(tiny_outputs, models={"tiny-7B": ("tiny.jsonl",), "other": ("tiny.jsonl",)}) as srv:
        yield srv


def _engine(server: Any, **kwargs: Any) -> OpenAIEngine:
    kwargs.setdefault("backoff_s", 0.01)
    return OpenAIEngine(base_url=server.url, model=kwargs.pop("model", "tiny-7B"), **kwargs)


def test_openai_returns_published_responses_in_order_with_usage(server: Any) -> None:
    engine = _engine(server, concurrency=3)
    prompts = [r["prompt"] for r in RECORDS][::-1]
    results = engine.generate(prompts, SamplingSettings(max_tokens=100))
    engine.close()
    assert [r[0].text for r in results] == [r["response"] for r in RECORDS][::-1]
    assert all(r[0].finish_reason == "stop" for r in results)
    first = results[-1][0]
    assert first.prompt_tokens == len(RECORDS[0]["prompt"].split())
    assert first.completion_tokens == len(RECORDS[0]["response"].split())
    assert server.requests == len(prompts)


def test_openai_batches_prompts_in_one_request_and_keeps_order(server: Any) -> None:
    engine = _engine(server, concurrency=2, prompts_per_request=4)
    prompts = [r["prompt"] for r in RECORDS]
    results = engine.generate(prompts, SamplingSettings(n=2))
    engine.close()
    assert server.requests == 3  # 4 + 4 + 2 prompts
    assert [[c.text for c in r] for r in results] == [[r["response"]] * 2 for r in RECORDS]
    # usage is per request: with several completions in a request no per-completion count is invented
    assert results[0][0].completion_tokens is None and results[0][0].prompt_tokens is None


def test_openai_chat_prompts_use_chat_completions(server: Any) -> None:
    engine = _engine(server, prompts_per_request=4)
    conversations = [[{"role": "system", "content": "s"}, {"role": "user", "content": r["prompt"]}]
                     for r in RECORDS[:3]]
    results = engine.generate([RECORDS[5]["prompt"], *conversations], SamplingSettings())
    engine.close()
    assert [r[0].text for r in results] == [RECORDS[i]["response"] for i in (5, 0, 1, 2)]
    assert server.requests == 4  # a chat conversation is never batched with other prompts


def test_openai_max_tokens_cuts_with_finish_reason_length(server: Any) -> None:
    engine = _engine(server)
    [[completion]] = engine.generate([RECORDS[3]["prompt"]], SamplingSettings(max_tokens=5))
    engine.close()
    assert completion.text == "We add 3 and 3"
    assert completion.finish_reason == "length"
    assert completion.completion_tokens == 5


def test_openai_sends_stop_seed_and_sampling_fields(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    original = server._complete

    def recording(req: dict[str, Any]) -> Any:
        seen.append(req)
        return original(req)

    monkeypatch.setattr(server, "_complete", recording)
    engine = _engine(server)
    settings = SamplingSettings(temperature=0.5, top_p=0.8, max_tokens=50, stop=("Then",), n=1, seed=3)
    [[completion]] = engine.generate([RECORDS[2]["prompt"]], settings)
    engine.close()
    assert seen == [{"model": "tiny-7B", "prompt": RECORDS[2]["prompt"], "max_tokens": 50, "temperature": 0.5,
                     "top_p": 0.8, "n": 1, "stop": ["Then"], "seed": 3}]
    assert completion.text == "We add 2 and 2 to get 4. "


def test_openai_retries_503s(server: Any) -> None:
    server.fail_next(3, status=503)
    engine = _engine(server, concurrency=1)
    results = engine.generate([r["prompt"] for r in RECORDS[:2]], SamplingSettings())
    engine.close()
    assert [r[0].text for r in results] == [r["response"] for r in RECORDS[:2]]
    assert engine.retries == 3
    assert server.requests == 5


def test_openai_honours_retry_after_on_429(server: Any) -> None:
    server.fail_next(1, status=429, retry_after=0.4)
    engine = _engine(server, backoff_s=0.001)
    started = time.perf_counter()
    [[completion]] = engine.generate([RECORDS[0]["prompt"]], SamplingSettings())
    elapsed = time.perf_counter() - started
    engine.close()
    assert completion.text == RECORDS[0]["response"]
    assert elapsed >= 0.4  # waited as told, not the 1 ms backoff
    assert engine.retries == 1


def test_openai_gives_up_after_max_retries(server: Any) -> None:
    server.fail_next(10, status=503)
    engine = _engine(server, max_retries=2)
    with pytest.raises(EngineError, match="HTTP 503 after 3 attempt"):
        engine.generate([RECORDS[0]["prompt"]], SamplingSettings())
    engine.close()
    assert server.requests == 3


def test_openai_unknown_model_lists_served_models(server: Any) -> None:
    engine = _engine(server, model="Abel-404B")
    with pytest.raises(UnknownModelError, match=r"'Abel-404B' is not served at .*; served models: tiny-7B, other"):
        engine.check()
    # the same message when the server only says so on the completions call
    with pytest.raises(UnknownModelError, match="served models: tiny-7B, other"):
        engine.generate([RECORDS[0]["prompt"]], SamplingSettings())
    engine.close()


def test_openai_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = OpenAIEngine(base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=1, backoff_s=0.01)
    with pytest.raises(EngineUnreachableError, match=f"cannot reach the OpenAI-compatible server at http://127.0.0.1:{port}/v1"):
        engine.check()
    with pytest.raises(EngineUnreachableError):
        engine.generate(["x"], SamplingSettings())
    engine.close()


def test_make_engine_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="choose one of vllm, openai"):
        make_engine("tgi")
