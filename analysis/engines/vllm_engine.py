"""Offline vLLM: `vllm.LLM(...).generate(prompts, SamplingParams(...))`.

vLLM is imported only when this engine is built (install extra `.[vllm]`); tests inject a stand-in module
with the same interface. The tensor parallel size defaults to the number of visible GPUs.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from analysis.engines.base import Completion, EngineError, EngineUnavailableError, Prompt, SamplingSettings, is_chat

log = logging.getLogger(__name__)


def visible_gpu_count() -> int:
    """GPUs this process may use: torch's count when available, else CUDA_VISIBLE_DEVICES, else 1."""
    try:
        import torch  # vLLM depends on torch, so it is present wherever vLLM is

        count = int(torch.cuda.device_count())
        if count > 0:
            return count
    except Exception:  # no torch or no CUDA: fall back to the environment
        pass
    devices = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
    if devices and devices != "-1":
        return len([d for d in devices.split(",") if d.strip()])
    return 1


class VllmEngine:
    """Batch generation with an in-process `vllm.LLM`; results come back in input order."""

    name = "vllm"

    def __init__(
        self,
        *,
        model_path: str,
        tensor_parallel_size: int | None = None,
        vllm_module: ModuleType | Any | None = None,
        llm_factory: Callable[..., Any] | None = None,
        **llm_kwargs: Any,
    ) -> None:
        if vllm_module is None:
            try:
                import vllm as vllm_module  # type: ignore[no-redef]
            except ImportError as exc:
                raise EngineUnavailableError(
                    "the vllm engine needs vLLM: pip install -e '.[vllm]' (on a machine with a GPU)"
                ) from exc
        self._vllm = vllm_module
        self.model_path = model_path
        self.tensor_parallel_size = tensor_parallel_size or visible_gpu_count()
        factory = llm_factory or vllm_module.LLM
        log.info("loading %s with vLLM (tensor_parallel_size=%d)", model_path, self.tensor_parallel_size)
        self._llm = factory(model=model_path, tensor_parallel_size=self.tensor_parallel_size, **llm_kwargs)

    def sampling_params(self, settings: SamplingSettings) -> Any:
        return self._vllm.SamplingParams(
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_tokens=settings.max_tokens,
            stop=list(settings.stop) or None,
            n=settings.n,
            seed=settings.seed,
        )

    def generate(self, prompts: Sequence[Prompt], settings: SamplingSettings) -> list[list[Completion]]:
        if not prompts:
            return []
        chats = [is_chat(p) for p in prompts]
        if any(chats) and not all(chats):
            raise EngineError("a vLLM batch must be all completion prompts or all chat conversations")
        params = self.sampling_params(settings)
        started = time.perf_counter()
        if chats[0]:
            # `LLM.chat` applies the model's chat template; vLLM's prompt text then differs from ours.
            conversations = [[dict(m) for m in p] for p in prompts]
            outputs = list(self._llm.chat(conversations, params, use_tqdm=False))
            ordered = _in_input_order([None] * len(prompts), outputs)
        else:
            outputs = list(self._llm.generate(list(prompts), params, use_tqdm=False))
            ordered = _in_input_order([str(p) for p in prompts], outputs)
        latency = time.perf_counter() - started
        result: list[list[Completion]] = []
        for out in ordered:
            prompt_ids = getattr(out, "prompt_token_ids", None)
            samples = [
                Completion(
                    text=co.text,
                    finish_reason=co.finish_reason,
                    prompt_tokens=len(prompt_ids) if prompt_ids is not None else None,
                    completion_tokens=len(co.token_ids) if getattr(co, "token_ids", None) is not None else None,
                    latency_s=latency,  # offline batches have no per-request latency: the batch's wall time
                )
                for co in out.outputs
            ]
            if len(samples) != settings.n:
                raise EngineError(f"vLLM returned {len(samples)} samples for a prompt, expected {settings.n}")
            result.append(samples)
        return result

    def close(self) -> None:
        self._llm = None


def _in_input_order(prompts: list[str | None], outputs: list[Any]) -> list[Any]:
    """Put vLLM's RequestOutputs back in prompt order.

    Within one `generate` call vLLM numbers requests with an increasing counter (`request_id`), so sorting by
    its integer value restores submission order. When request ids are not integers, or the sorted prompts do
    not line up with ours, match on the prompt text instead (first come, first served for duplicates). A None
    prompt (chat: vLLM renders its own text) is matched by request id only.
    """
    if len(outputs) != len(prompts):
        raise EngineError(f"vLLM returned {len(outputs)} outputs for {len(prompts)} prompts")
    try:
        by_id = sorted(outputs, key=lambda o: int(str(o.request_id)))
    except (TypeError, ValueError, AttributeError):
        by_id = None
    if by_id is not None and all(
        p is None or o.prompt is None or o.prompt == p for o, p in zip(by_id, prompts, strict=True)
    ):
        return by_id
    if any(p is None for p in prompts):
        raise EngineError("cannot put vLLM chat outputs back in order: request ids are not numbers")
    pending: dict[str, deque[Any]] = defaultdict(deque)
    for out in outputs:
        pending[out.prompt].append(out)
    ordered = []
    for prompt in prompts:
        if prompt is None or not pending[prompt]:
            raise EngineError("cannot match vLLM outputs to prompts (missing prompt text and request ids)")
        ordered.append(pending[prompt].popleft())
    return ordered
