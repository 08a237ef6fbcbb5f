"""``triad agents``: one card per agent, valid against the card schema, and usable as a contract.

The cards must validate against the JSON Schema printed beside them, carry the seed's metadata
(the autodiff agent: trit 0, ERGODIC, Prof, ⊗, Adj, #26D826), and their skills' message
schemas must accept the messages the agents really send and refuse misrouted ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from adtriad.cards import AgentCard, agent_cards, card_json_schema
from adtriad.cli import app
from adtriad.protocol import DEFAULT_TRITS, Role, message_json_schema

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")

SAXPY = Path(__file__).resolve().parents[1] / "scenarios" / "saxpy.yaml"

try:  # click < 8.2 mixes stderr into stdout unless told not to
    runner = CliRunner(mix_stderr=False)
except TypeError:
    runner = CliRunner()

ENV = {"TRIAD_CONFIG": None, "TRIAD_ROLES__TRITS__TEMPERING": None,
       "TRIAD_ROLES__TRITS__GPU_KERNELS": None, "TRIAD_ROLES__TRITS__AUTODIFF": None}


@pytest.fixture(autouse=True)
def _reset_structlog():
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="module")
def document():
    result = runner.invoke(app, ["agents"], env=ENV)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def skill(card: dict, skill_id: str) -> dict:
    (found,) = [s for s in card["skills"] if s["id"] == skill_id]
    return found


def valid(instance, schema) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(instance)


def test_every_card_validates_against_the_card_schema(document):
    jsonschema.Draft202012Validator.check_schema(document["card_schema"])
    assert document["card_schema"] == json.loads(json.dumps(card_json_schema()))
    cards = document["agents"]
    assert [c["role"] for c in cards] == ["tempering", "gpu_kernels", "autodiff"]
    for card in cards:
        jsonschema.validate(card, document["card_schema"])
        AgentCard.model_validate(card)
        assert card["name"] and card["description"] and card["version"]
        for s in card["skills"]:
            for key in ("input_schema", "output_schema"):
                jsonschema.Draft202012Validator.check_schema(s[key])
    assert sum(c["trit"] for c in cards) % 3 == 0
    assert {c["role"]: c["trit"] for c in cards} == {r.value: t for r, t in DEFAULT_TRITS.items()}


def test_the_autodiff_card_carries_the_seed_metadata(document):
    (card,) = [c for c in document["agents"] if c["role"] == "autodiff"]
    assert card["trit"] == 0
    assert card["metadata"] == {"polarity": "ERGODIC", "home": "Prof", "poly_op": "⊗",
                                "kan_role": "Adj", "color": "#26D826"}
    others = [c["metadata"] for c in document["agents"] if c["role"] != "autodiff"]
    assert {m["polarity"] for m in others} == {"MINUS", "PLUS"}
    assert len({m["color"] for m in document["agents"] for m in [m["metadata"]]}) == 3


def test_the_message_schema_is_printed_beside_the_cards(document):
    assert document["message_schema"] == json.loads(json.dumps(message_json_schema()))


def test_skill_schemas_accept_real_messages_and_refuse_misrouted_ones(document, tmp_path):
    from adtriad.agents import KernelAgent, TemperingAgent, load_scenario

    cards = {c["role"]: c for c in document["agents"]}
    sc = load_scenario(SAXPY)
    seed = TemperingAgent(cache_dir=tmp_path).open_round(sc.name, sc.master_seed, 0, "Reverse")
    kernel = KernelAgent().provide(seed, sc, "Reverse")
    seed_json, kernel_json = (json.loads(m.model_dump_json()) for m in (seed, kernel))
    assert valid(seed_json, skill(cards["tempering"], "open_round")["output_schema"])
    assert valid(seed_json, skill(cards["gpu_kernels"], "provide")["input_schema"])
    assert valid(kernel_json, skill(cards["gpu_kernels"], "provide")["output_schema"])
    assert valid(kernel_json, skill(cards["autodiff"], "differentiate")["input_schema"])
    assert valid(kernel_json, skill(cards["tempering"], "verify")["input_schema"])  # witnessed
    assert not valid(seed_json, skill(cards["autodiff"], "differentiate")["input_schema"])
    misrouted = {**kernel_json, "to": "tempering"}
    assert not valid(misrouted, skill(cards["autodiff"], "differentiate")["input_schema"])


def test_one_card_by_name_and_an_unknown_name(document):
    result = runner.invoke(app, ["agents", "autodiff"], env=ENV)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [c for c in document["agents"]
                                         if c["name"] == "autodiff"][0]
    result = runner.invoke(app, ["agents", "nobody"], env=ENV)
    assert result.exit_code == 2 and "nobody" in result.stderr


def test_cards_follow_the_configured_trits():
    result = runner.invoke(app, ["agents", "tempering"],
                           env={**ENV, "TRIAD_ROLES__TRITS__TEMPERING": "1",
                                "TRIAD_ROLES__TRITS__GPU_KERNELS": "-1"})
    assert result.exit_code == 0, result.stderr
    card = json.loads(result.stdout)
    assert card["trit"] == 1 and card["metadata"]["polarity"] == "PLUS"
    swapped = {c.role: c.trit for c in agent_cards({Role.tempering: 1, Role.autodiff: 0,
                                                     Role.gpu_kernels: -1})}
    assert swapped == {"tempering": 1, "autodiff": 0, "gpu_kernels": -1}
