"""Agent cards: what another agent system needs to talk to each triad agent by messages.

Contract:

* :func:`agent_cards` returns one :class:`AgentCard` per role (tempering, gpu_kernels,
  autodiff): name, description, adtriad's version and the protocol version, the role and its
  trit (the configured trit table, GF(3) defaults −1/0/+1), the seed document's metadata
  (polarity, home, poly op, Kan role, color; the autodiff agent's are the seed's own: ERGODIC,
  ``Prof``, ``⊗``, ``Adj``, ``#26D826``), how to reach it (Python class, in-process handler,
  MCP tool), and its skills.
* A skill names the payload kinds it accepts and replies with, and carries ``input_schema``
  and ``output_schema``: self-contained JSON Schemas (draft 2020-12) of the
  :class:`~adtriad.protocol.TriadMessage` it takes and sends, with ``to``/``from`` and the
  payload narrowed to that skill. Any JSON message that validates against ``input_schema`` is
  one the agent's handler (:mod:`adtriad.facade`) accepts.
* :func:`agents_document` is what ``triad agents`` prints: the cards, the card JSON Schema
  (:func:`card_json_schema`) they validate against, and the full message JSON Schema.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from adtriad import __version__
from adtriad.protocol import (
    PROTOCOL_VERSION,
    PayloadKind,
    Role,
    message_json_schema,
    validate_trits,
)

__all__ = ["AgentCard", "CardMetadata", "Skill", "agent_cards", "agents_document",
           "card_json_schema", "skill_message_schema"]

_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DEFS = {"seed": "SeedPayload", "kernel": "KernelPayload", "gradients": "GradientsPayload",
         "verdict": "VerdictPayload", "error": "ErrorPayload"}
_POLARITY = {-1: "MINUS", 0: "ERGODIC", 1: "PLUS"}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Skill(_Model):
    """One thing an agent does: the messages it answers and those it replies with."""

    id: str
    """Stable identifier (``"differentiate"``)."""
    name: str
    """Human name."""
    description: str
    """What the agent does with such a message."""
    accepts: list[PayloadKind]
    """Payload kinds of the messages this skill answers."""
    replies: list[PayloadKind]
    """Payload kinds of its replies (``error`` when it could not do its part)."""
    input_schema: dict[str, Any]
    """JSON Schema of a message this skill takes."""
    output_schema: dict[str, Any]
    """JSON Schema of a message it sends."""


class CardMetadata(_Model):
    """The agent's place in the seed document's Cat# equipment structure."""

    polarity: Literal["MINUS", "ERGODIC", "PLUS"]
    """The trit's name: −1 MINUS, 0 ERGODIC, +1 PLUS."""
    home: str
    """The category the agent lives in (``Prof``: profunctors)."""
    poly_op: str
    """Its polynomial-functor operation (``⊗``, ``×``, ``◁``)."""
    kan_role: str
    """Its Kan-extension role (``Adj``, ``Ran``, ``Lan``)."""
    color: Annotated[str, Field(pattern=r"^#[0-9A-F]{6}$")]
    """Display color, ``#RRGGBB``."""


class AgentCard(_Model):
    """How to talk to one agent of the triad without reading its code."""

    name: str
    """The agent's name (its role's name)."""
    description: str
    """What the agent does."""
    version: str
    """adtriad's version."""
    protocol_version: str
    """The version of the message format it speaks."""
    role: Literal["tempering", "autodiff", "gpu_kernels"]
    """Its role in the triad (the ``from``/``to`` of its messages)."""
    trit: Literal[-1, 0, 1]
    """Its element of GF(3); the three trits sum to 0 mod 3."""
    metadata: CardMetadata
    """The seed document's metadata."""
    interfaces: dict[str, str]
    """Ways to reach it: ``python`` (its class), ``handler`` (the in-process message handler),
    ``mcp`` (the ``triad mcp`` tool that exposes it)."""
    skills: Annotated[list[Skill], Field(min_length=1)]
    """What it does, message by message."""


_METADATA = {
    Role.tempering: dict(home="Presheaves", poly_op="×", kan_role="Ran", color="#2626D8"),
    Role.autodiff: dict(home="Prof", poly_op="⊗", kan_role="Adj", color="#26D826"),
    Role.gpu_kernels: dict(home="Span", poly_op="◁", kan_role="Lan", color="#D82626"),
}

_DESCRIPTIONS = {
    Role.tempering: "Seed provider and verifier: derives each round's seed from a master seed, "
                    "then closes the loop by checking the gradients against independent oracles "
                    "(finite differences in float64, the forward/reverse dot-product test, "
                    "analytic expectations) and bit-identical reproducibility, and sends the "
                    "verdict.",
    Role.gpu_kernels: "Kernel and input provider: answers a round's seed with the kernel's "
                      "source (text, never a pickle), the mode, each argument's activity and "
                      "inputs and shadows drawn from the round's seed.",
    Role.autodiff: "The differentiator: differentiates the kernel it is sent with adtriad's "
                   "Enzyme-style engine (forward, reverse and split modes), on the GPU when "
                   "there is one, and returns the derivatives.",
}

_INTERFACES = {
    Role.tempering: dict(python="adtriad.agents.TemperingAgent",
                         handler="adtriad.Triad().agents(scenario)['tempering']",
                         mcp="triad mcp: verify"),
    Role.gpu_kernels: dict(python="adtriad.agents.KernelAgent",
                           handler="adtriad.Triad().agents(scenario)['gpu_kernels']",
                           mcp="triad mcp: list_kernels, verify"),
    Role.autodiff: dict(python="adtriad.agents.AutodiffAgent",
                        handler="adtriad.Triad().agents(scenario)['autodiff']",
                        mcp="triad mcp: differentiate"),
}

# (id, name, description, accepts [(kind, from, to)], replies [(kind, to)]); None: any role
_SKILLS: dict[Role, list[tuple[str, str, str, list, list]]] = {
    Role.tempering: [
        ("open_round", "Open a round",
         "Started by the host (TemperingHandler.open_round(index)), not by a message: sends the "
         "seed message of the round, whose seed is spawned from the scenario's master seed.",
         [], [("seed", Role.gpu_kernels)]),
        ("verify", "Verify gradients",
         "Takes the gradients of a round it opened (having witnessed the round's kernel "
         "message) and the answers to its own side requests; replies with the next side "
         "request (a dot-product probe: a kernel message with round id <round>:probe-Forward or "
         ":probe-Reverse; the round asked again: a seed message with round id <round>:again) "
         "until every answer is in, then with the verdict.",
         [("gradients", Role.autodiff, Role.tempering),
          ("kernel", Role.gpu_kernels, Role.autodiff), ("error", None, None)],
         [("verdict", Role.autodiff), ("kernel", Role.autodiff), ("seed", Role.gpu_kernels),
          ("error", Role.autodiff)]),
    ],
    Role.gpu_kernels: [
        ("provide", "Provide a kernel and inputs",
         "Answers a seed message with the kernel message of the round: the kernel's source and "
         "entry, the mode, activities, inputs and shadows drawn from the message's seed (the "
         "same seed always gives a bit-identical message).",
         [("seed", Role.tempering, Role.gpu_kernels)],
         [("kernel", Role.autodiff), ("error", Role.autodiff)]),
    ],
    Role.autodiff: [
        ("differentiate", "Differentiate a kernel",
         "Answers a kernel message with the gradients: per argument the derivative of an Active "
         "one, the shadow after the call of a shadowed one, null for a Const one; the primal "
         "and the result's tangent where the mode computes them.",
         [("kernel", None, Role.autodiff)],
         [("gradients", Role.tempering), ("error", Role.tempering)]),
    ],
}


def skill_message_schema(kinds: list[PayloadKind], *, to: Role | None = None,
                         sender: Role | None = None) -> dict[str, Any]:
    """The message JSON Schema narrowed to payloads of ``kinds`` (and to ``to``/``sender``).

    Examples:
        >>> s = skill_message_schema(["kernel"], to=Role.autodiff)
        >>> s["properties"]["payload"], s["properties"]["to"]["const"]
        ({'$ref': '#/$defs/KernelPayload'}, 'autodiff')
    """
    schema = copy.deepcopy(message_json_schema())
    props = schema["properties"]
    refs = [{"$ref": f"#/$defs/{_DEFS[k]}"} for k in dict.fromkeys(kinds)]
    if len(refs) == 1:
        props["payload"] = refs[0]
    else:
        props["payload"] = {"oneOf": refs}
    if to is not None:
        props["to"] = {"const": to.value, "description": props["to"]["description"]}
    if sender is not None:
        props["from"] = {"const": sender.value, "description": props["from"]["description"]}
    schema["$schema"] = _SCHEMA_DIALECT
    return schema


def _side_schema(routes: list[tuple[str, Role | None, Role | None]]) -> dict[str, Any]:
    """One schema per (kind, from, to); a single one stays flat, several become ``oneOf``."""
    if not routes:
        return {"$schema": _SCHEMA_DIALECT, "description": "no message: the host starts it",
                "type": "null"}
    parts = [skill_message_schema([kind], to=to, sender=sender) for kind, sender, to in routes]
    if len(parts) == 1:
        return parts[0]
    defs = parts[0]["$defs"]
    for p in parts:
        p.pop("$defs")
        p.pop("$schema")
    return {"$schema": _SCHEMA_DIALECT, "$defs": defs, "oneOf": parts}


def agent_cards(trits: Mapping[Role, int] | None = None) -> list[AgentCard]:
    """The three agent cards (see the module contract); ``trits`` defaults to GF(3)'s −1/0/+1."""
    table = validate_trits(trits)
    cards = []
    for role in (Role.tempering, Role.gpu_kernels, Role.autodiff):
        skills = []
        for sid, name, text, accepts, replies in _SKILLS[role]:
            skills.append(Skill(
                id=sid, name=name, description=text,
                accepts=list(dict.fromkeys(k for k, _, _ in accepts)),
                replies=list(dict.fromkeys(k for k, _ in replies)),
                input_schema=_side_schema(accepts),
                output_schema=_side_schema([(k, role, to) for k, to in replies])))
        trit = table[role]
        cards.append(AgentCard(
            name=role.value, description=_DESCRIPTIONS[role], version=__version__,
            protocol_version=PROTOCOL_VERSION, role=role.value, trit=trit,
            metadata=CardMetadata(polarity=_POLARITY[trit], **_METADATA[role]),
            interfaces=_INTERFACES[role], skills=skills))
    return cards


def card_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every card validates against."""
    return {"$schema": _SCHEMA_DIALECT, **AgentCard.model_json_schema()}


def agents_document(trits: Mapping[Role, int] | None = None) -> dict[str, Any]:
    """What ``triad agents`` prints: ``agents`` (the cards), ``card_schema``, ``message_schema``."""
    return {
        "protocol_version": PROTOCOL_VERSION,
        "agents": [c.model_dump(mode="json") for c in agent_cards(trits)],
        "card_schema": card_json_schema(),
        "message_schema": message_json_schema(),
    }
