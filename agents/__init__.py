"""adtriad.agents: the triad — tempering, kernel and autodiff agents — and their orchestrator.

Contract: the agents are plain classes (:class:`TemperingAgent`, :class:`KernelAgent`,
:class:`AutodiffAgent`) exchanging :class:`~adtriad.protocol.TriadMessage`\\ s; only
:mod:`adtriad.agents.orchestrator` knows about Ray. Scenarios are YAML files validated by
:class:`Scenario` (:func:`load_scenario`); :func:`run_scenarios` runs them and returns a
:class:`RunReport`. Importing this package starts nothing and configures nothing (Ray and the
engine are imported when first used).
"""

from adtriad.agents.autodiff import AutodiffAgent
from adtriad.agents.capabilities import capabilities
from adtriad.agents.kernel import KernelAgent
from adtriad.agents.loading import ScenarioError, load_scenario, load_scenarios
from adtriad.agents.orchestrator import run_scenarios
from adtriad.agents.report import ErrorInfo, RoundReport, RunReport, ScenarioReport
from adtriad.agents.scenario import Scenario
from adtriad.agents.seeds import round_seed
from adtriad.agents.tempering import TemperingAgent

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
