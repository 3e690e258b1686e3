"""Inference engines behind one interface: prompts in, completions out.

`make_engine("openai", ...)` talks to any OpenAI-compatible server; `make_engine("vllm", ...)` runs vLLM
offline (imported only when that engine is built, install extra `.[vllm]`).
"""

from __future__ import annotations

from typing import Any

from analysis.engines.base import (
    Completion,
    Engine,
    EngineError,
    EngineUnavailableError,
    EngineUnreachableError,
    Prompt,
    SamplingSettings,
    UnknownModelError,
)

ENGINE_NAMES = ("vllm", "openai")


def make_engine(name: str, **kwargs: Any) -> Engine:
    """Build the engine called `name` with its own keyword arguments (see each engine's constructor)."""
    if name == "openai":
        from analysis.engines.openai_engine import OpenAIEngine

        return OpenAIEngine(**kwargs)
    if name == "vllm":
        from analysis.engines.vllm_engine import VllmEngine

        return VllmEngine(**kwargs)
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}")


__all__ = [
    "ENGINE_NAMES",
    "Completion",
    "Engine",
    "EngineError",
    "EngineUnavailableError",
    "EngineUnreachableError",
    "Prompt",
    "SamplingSettings",
    "UnknownModelError",
    "make_engine",
]
