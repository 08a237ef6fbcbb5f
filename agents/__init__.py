"""adtriad.agents: the triad — tempering, kernel and autodiff agents — and their orchestrator.

Contract: the agents are plain classes (:class:`TemperingAgent`, :class:`KernelAgent`,
:class:`AutodiffAgent`) exchanging :class:`~adtriad.protocol.TriadMessage`\\ s; only
:mod:`adtriad.agents.orchestrator` knows about Ray. Scenarios are YAML files validated by
:class:`Scenario` (:func:`load_scenario`); :func:`run_scenarios` runs them and returns a
:class:`RunReport`. Importing this package starts nothing and configures nothing (Ray and the
engine are imported when first used).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adtriad.agents.autodiff import AutodiffAgent
    from adtriad.agents.capabilities import capabilities
    from adtriad.agents.kernel import KernelAgent
    from adtriad.agents.loading import ScenarioError, load_scenario, load_scenarios
    from adtriad.agents.orchestrator import run_scenarios
    from adtriad.agents.report import ErrorInfo, RoundReport, RunReport, ScenarioReport
    from adtriad.agents.scenario import Scenario
    from adtriad.agents.seeds import round_seed
    from adtriad.agents.tempering import TemperingAgent

# name → its module, imported on first use: a Ray worker hosting one agent imports that agent
# alone, not the orchestrator and the other two
_HOMES = {
    "AutodiffAgent": "autodiff", "capabilities": "capabilities", "KernelAgent": "kernel",
    "ScenarioError": "loading", "load_scenario": "loading", "load_scenarios": "loading",
    "run_scenarios": "orchestrator", "ErrorInfo": "report", "RoundReport": "report",
    "RunReport": "report", "ScenarioReport": "report", "Scenario": "scenario",
    "round_seed": "seeds", "TemperingAgent": "tempering",
}

__all__ = [
    "AutodiffAgent",
    "ErrorInfo",
    "KernelAgent",
    "RoundReport",
    "RunReport",
    "Scenario",
    "ScenarioError",
    "ScenarioReport",
    "TemperingAgent",
    "capabilities",
    "load_scenario",
    "load_scenarios",
    "round_seed",
    "run_scenarios",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"adtriad.agents.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'adtriad.agents' has no attribute {name!r}")
