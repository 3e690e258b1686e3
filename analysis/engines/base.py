"""The engine interface shared by every backend, and the records it exchanges."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias, runtime_checkable

# A completion prompt, or a chat conversation (OpenAI-style messages: {"role", "content"}).
Prompt: TypeAlias = str | Sequence[Mapping[str, str]]


class EngineError(RuntimeError):
    """An engine could not produce completions (after its own retries)."""


class UnknownModelError(EngineError):
    """The server does not serve the requested model."""


class EngineUnreachableError(EngineError):
    """The server could not be reached at all."""


def is_chat(prompt: Prompt) -> bool:
    return not isinstance(prompt, str)


class EngineUnavailableError(EngineError):
    """The engine's backend is not installed (e.g. vLLM without the `.[vllm]` extra)."""


@dataclass(frozen=True)
class SamplingSettings:
    """Generation settings that do not depend on the engine. `n` is the number of samples per prompt."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 2048
    stop: tuple[str, ...] = ()
    n: int = 1
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")


@dataclass(frozen=True)
class Completion:
    """One generated sample. Token counts are None when the backend cannot attribute them to this sample."""

    text: str
    finish_reason: str | None  # "stop" / "length" (as the backend reports it)
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float  # wall time of the call that produced this completion


@runtime_checkable
class Engine(Protocol):
    """Prompts in, completions out: `generate` returns, for each prompt in order, its `settings.n` samples.

    A prompt is a string (completion) or a list of chat messages (the engine applies the model's chat format).
    """

    name: str

    def generate(self, prompts: Sequence[Prompt], settings: SamplingSettings) -> list[list[Completion]]: ...

    def close(self) -> None: ...
