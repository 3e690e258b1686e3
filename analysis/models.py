"""Model names: what a name like `Abel-7B-002` says about family, size and generation."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Hugging Face ids of the models whose names do not say them.
KNOWN_HF_IDS: dict[str, str] = {
    "Abel-7B-001": "GAIR/GAIRMath-Abel-7b",
    "Abel-13B-001": "GAIR/GAIRMath-Abel-13b",
    "Abel-70B-001": "GAIR/GAIRMath-Abel-70b",
    "Abel-7B-002": "GAIR/Abel-7B-002",
}

_MODEL_NAME = re.compile(r"^(?P<family>.+?)-(?P<size>\d+(?:\.\d+)?)(?P<unit>[BbMm])(?:-(?P<version>[\w.]+))?$")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    family: str
    size: str
    size_b: float | None
    generation: str
    hf_id: str | None


def parse_model_name(name: str, hf_id: str | None = None) -> ModelInfo:
    """`Abel-7B-002` -> family Abel, size 7B, generation Abel-002; unknown shapes keep the name as family."""
    m = _MODEL_NAME.match(name)
    if m is None:
        return ModelInfo(name, name, "", None, name, hf_id or KNOWN_HF_IDS.get(name))
    family, unit = m["family"], m["unit"].upper()
    size_b = float(m["size"]) / (1000.0 if unit == "M" else 1.0)
    generation = f"{family}-{m['version']}" if m["version"] else family
    return ModelInfo(name, family, f"{m['size']}{unit}", size_b, generation, hf_id or KNOWN_HF_IDS.get(name))
