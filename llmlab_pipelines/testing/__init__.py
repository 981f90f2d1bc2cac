"""Test components: an OpenAI-compatible provider simulator. Not a default provider."""

from __future__ import annotations

from ._responders import arithmetic_responder, echo_responder, gold_responder
from ._simulator import Simulator, SimulatorConfig

__all__ = [
    "Simulator",
    "SimulatorConfig",
    "arithmetic_responder",
    "echo_responder",
    "gold_responder",
]
