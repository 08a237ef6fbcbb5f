"""The agents' parts on their own: seeds, scenario files, expressions, oracles, messages."""

from __future__ import annotations

import numpy as np
import pytest

from adtriad.agents import AutodiffAgent, KernelAgent, TemperingAgent, load_scenario
from adtriad.agents.expressions import ExpressionError, evaluate
from adtriad.agents.loading import ScenarioError
from adtriad.agents.oracles import compare
from adtriad.agents.report import RunReport
from adtriad.agents.seeds import round_seed
from adtriad.protocol import Role, Tolerance, check_round

from conftest import BOOM, ROOT, write_scenario

TEST1 = ROOT / "scenarios" / "test1_reverse_scalar.yaml"
SAXPY = ROOT / "scenarios" / "saxpy.yaml"


def test_round_seeds_are_spawned_reproducibly():
    seeds = [round_seed(42, i) for i in range(4)]
    assert seeds == [round_seed(42, i) for i in range(4)]
    assert len(set(seeds)) == 4 and all(0 <= s < 2**64 for s in seeds)
    assert round_seed(43, 0) != seeds[0]


def test_same_seed_gives_bit_identical_inputs_and_gradients(engine_cache):
    sc = load_scenario(SAXPY)
    t, k, a = TemperingAgent(cache_dir=engine_cache), KernelAgent(), AutodiffAgent(engine_cache)
    seed = t.open_round(sc.name, sc.master_seed, 0, "Reverse")
    k1, k2 = k.provide(seed, sc, "Reverse"), k.provide(seed, sc, "Reverse")
    assert k1 == k2 and k1.payload.inputs["x"].dtype == np.float32
    g1, g2 = a.differentiate(k1), a.differentiate(k2)
    strip = {"timings": {}}
    assert g1.payload.model_copy(update=strip) == g2.payload.model_copy(update=strip)
    other = k.provide(t.open_round(sc.name, sc.master_seed, 1, "Reverse"), sc, "Reverse")
    assert other.payload.inputs["x"].tobytes() != k1.payload.inputs["x"].tobytes()


def test_a_round_by_hand_is_coherent(engine_cache):
    sc = load_scenario(TEST1)
    t, k, a = TemperingAgent(cache_dir=engine_cache), KernelAgent(), AutodiffAgent(engine_cache)
    s = t.open_round(sc.name, 0, 0, "Reverse")
    km = k.provide(s, sc, "Reverse")
    g = a.differentiate(km)
    assert g.payload.derivatives == {"x": 8.0}
    v = t.verify(s, km, g, None, None, None, None, None, None,
                 sc.model_copy(update={"checks": ("analytic", "finite_differences")}))
    assert v.payload.passed
    assert check_round([s, km, g, v]).coherent


def test_an_agent_that_raises_answers_with_an_error_naming_it(engine_cache, tmp_path):
    path = write_scenario(tmp_path, "boom", BOOM)
    sc = load_scenario(path)
    s = TemperingAgent(cache_dir=engine_cache).open_round(sc.name, 0, 0, "Reverse")
    km = KernelAgent().provide(s, sc, "Reverse")
    g = AutodiffAgent(engine_cache).differentiate(km)
    assert g.sender is Role.autodiff and g.payload.kind == "error"
    assert g.payload.error_type == "RuntimeError" and "exploded" in g.payload.message
    assert "autodiff agent" in g.payload.where
    assert AutodiffAgent(engine_cache).differentiate(g) is None  # the round already failed
    assert "error_reported" in check_round([s, km, g]).names


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("name: x\nkernel: {builtin: poly}\nmode: Sideways\narguments: {x: {value: 1.0}}\n",
         3, "mode"),
        ("name: x\nkernel: {builtin: poly}\nmode: Reverse\narguments:\n  x:\n"
         "    activity: Active\n    value: {draw: normall}\n", 7, "arguments.x.value.draw"),
        ("name: x\nkernel: {builtin: nope}\nmode: Reverse\narguments: {x: {value: 1.0}}\n",
         2, "kernel"),
        ("name: x\nkernel: {builtin: poly}\nmode: Reverse\narguments: {y: {value: 1.0}}\n",
         4, "arguments"),
        ("name: x\nkernel: {builtin: poly}\nmode: Reverse\narguments: {x: {value: 1.0}}\n"
         "expect:\n  x: \"__import__('os')\"\n", 6, "expect.x"),
        ("name: x\nkernel: {builtin: poly\n", 3, None),
    ],
)
def test_a_bad_scenario_names_file_line_and_field(tmp_path, text, line, field):
    path = write_scenario(tmp_path, "bad", text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    first = str(info.value).splitlines()[0]
    assert first.startswith(f"{path}:{line}: ")
    if field is not None:
        assert first.split(": ")[1] == field


def test_expressions_are_numpy_only():
    assert evaluate("np.sum(x**2) + pi", {"x": np.ones(3)}) == pytest.approx(3 + np.pi)
    for bad in ("x.__class__", "open('f')", "[i for i in x]", "lambda: 1", "x if x else x",
                "'text'", "sum(x, axis=0)"):
        with pytest.raises(ExpressionError):
            evaluate(bad, {"x": np.ones(2)})


def test_compare_reports_the_worst_element():
    tol = Tolerance(rtol=1e-6, atol=0.0)
    got, want = np.array([[1.0, 2.0], [3.0, 4.5]]), np.array([[1.0, 2.0], [3.0, 4.0]])
    c = compare("x", got, want, tol)
    assert not c.passed and c.worst_index == (1, 1)
    assert c.max_abs_err == 0.5 and c.max_rel_err == 0.125 and c.tolerance == tol
    assert compare("x", want, want, tol).passed
    assert not compare("x", np.nan, 1.0, tol).passed


def test_the_report_round_trips_through_json(cfg):
    from adtriad.agents import run_scenarios

    report = run_scenarios([load_scenario(TEST1)], cfg, backend="local")
    again = RunReport.model_validate_json(report.model_dump_json())
    assert again == report and again.exit_code == 0 and again.coherent


def test_user_kernels_by_module_or_file(tmp_path, cfg):
    from adtriad.agents import run_scenarios

    (tmp_path / "mykernels.py").write_text("def triple(x):\n    return 3.0 * x\n")
    by_file = write_scenario(tmp_path, "by_file", """
name: by_file
kernel: {ref: "mykernels.py:triple"}
mode: Forward
arguments: {x: {activity: Active, value: 2.0}}
expect: {tangent: "3 * shadow_x"}
""")
    by_module = write_scenario(tmp_path, "by_module", """
name: by_module
kernel: {ref: "adtriad.agents.builtin_kernels:cubic"}
mode: Reverse
arguments: {x: {activity: Active, value: 2.0}}
expect: {x: "3 * x**2 - 4 * x + 1"}
""")
    scenarios = [load_scenario(by_file), load_scenario(by_module)]
    assert "def triple" in scenarios[0].kernel.source and scenarios[1].kernel.entry == "cubic"
    report = run_scenarios(scenarios, cfg, backend="local")
    assert report.exit_code == 0, report.failed_checks()


def test_the_autodiff_agent_checkpoints_when_configured(engine_cache):
    sc = load_scenario(SAXPY)
    t, k = TemperingAgent(cache_dir=engine_cache), KernelAgent()
    km = k.provide(t.open_round(sc.name, sc.master_seed, 0, "Reverse"), sc, "Reverse")
    taped = AutodiffAgent(engine_cache).differentiate(km)
    checkpointed = AutodiffAgent(engine_cache, checkpoint_memory=1).differentiate(km)
    assert checkpointed.payload.kind != "error"
    strip = {"timings": {}}
    assert checkpointed.payload.model_copy(update=strip) == taped.payload.model_copy(update=strip)
