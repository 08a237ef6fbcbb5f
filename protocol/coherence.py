"""The GF(3) coherence checker: judges a round, or a sweep of rounds, from its message log.

The expected round (:data:`ROUTES`, in the order :data:`ROUND_ORDER`)::

    1. seed       tempering   → gpu_kernels
    2. kernel     gpu_kernels → autodiff
    3. gradients  autodiff    → tempering
    4. verdict    tempering   → autodiff

How "each role sends once" and the verdict fit together: the three *data* messages (seed,
kernel, gradients) are the roles' moves. Each role sends exactly one of them, and the trits of
their senders must sum to 0 mod 3. The verdict is not a move: it is the message that closes the
round, sent by tempering once the gradients came back; it counts neither for "once each" nor for
the trit sum. Error messages are not moves either; any of them makes the round incoherent.

Rules, each reported under its name (:data:`VIOLATION_NAMES`) with a human message and, where
one message is at fault, its position in the log:

* ``missing_role``: a role sent no data message.
* ``duplicate_sender``: a role sent more than one data message.
* ``missing_message``: the log has no seed, kernel, gradients or verdict message.
* ``duplicate_message``: the log has two messages of the same kind (two verdicts, say).
* ``wrong_route``: a message of a kind is not from and to the roles :data:`ROUTES` gives.
* ``out_of_order``: a message comes after one that follows it in seed → kernel → gradients →
  verdict.
* ``seed_mismatch``: a message's seed is not the round's seed (that of the seed message, or of
  the first message when there is no seed message).
* ``round_mismatch``: a message's ``round_id`` is not the first message's.
* ``trit_sum``: the trits of the data messages' senders do not sum to 0 mod 3.
* ``verdict_failed``: a verdict did not pass.
* ``error_reported``: a role sent an error message.

Trits default to :data:`~adtriad.protocol.roles.DEFAULT_TRITS`; pass another table (the
configuration's ``roles.trits``) as ``trits``. A sweep is coherent when every round is (so an
empty sweep is coherent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Literal, get_args

from pydantic import NonNegativeInt

from adtriad.protocol.messages import U64, PayloadKind, ProtocolModel, TriadMessage
from adtriad.protocol.roles import Role, validate_trits

__all__ = [
    "ROUND_ORDER",
    "ROUTES",
    "VIOLATION_NAMES",
    "CoherenceReport",
    "SweepReport",
    "Violation",
    "ViolationName",
    "check_round",
    "check_sweep",
]

ViolationName = Literal[
    "missing_role",
    "duplicate_sender",
    "missing_message",
    "duplicate_message",
    "wrong_route",
    "out_of_order",
    "seed_mismatch",
    "round_mismatch",
    "trit_sum",
    "verdict_failed",
    "error_reported",
]
"""The names of the coherence rules."""

VIOLATION_NAMES: tuple[str, ...] = get_args(ViolationName)
"""Every rule name, in the order the checker applies them."""

ROUND_ORDER: tuple[PayloadKind, ...] = ("seed", "kernel", "gradients", "verdict")
"""The kinds of a round's messages, in the order they must come."""

ROUTES: Mapping[PayloadKind, tuple[Role, Role]] = MappingProxyType(
    {
        "seed": (Role.tempering, Role.gpu_kernels),
        "kernel": (Role.gpu_kernels, Role.autodiff),
        "gradients": (Role.autodiff, Role.tempering),
        "verdict": (Role.tempering, Role.autodiff),
    }
)
"""``(from, to)`` of each kind of message in a round."""

_MOVES: frozenset[str] = frozenset({"seed", "kernel", "gradients"})


class Violation(ProtocolModel):
    """One broken rule."""

    name: ViolationName
    """The rule (see the module docstring)."""
    message: str
    """What is wrong, for a human."""
    index: NonNegativeInt | None = None
    """Position in the log of the message at fault, when one is."""


class CoherenceReport(ProtocolModel):
    """The judgement of one round."""

    round_id: str | None
    """The first message's round id (``None`` for an empty log)."""
    seed: U64 | None
    """The round's seed (``None`` for an empty log)."""
    trit_sum: int
    """Sum of the trits of the data messages' senders (coherent when ≡ 0 mod 3)."""
    violations: tuple[Violation, ...]
    """Every broken rule; empty when the round is coherent."""

    @property
    def coherent(self) -> bool:
        """True when no rule is broken."""
        return not self.violations

    @property
    def names(self) -> frozenset[str]:
        """The names of the broken rules."""
        return frozenset(v.name for v in self.violations)

    def summary(self) -> str:
        """One line per finding, the first saying whether the round is coherent."""
        head = f"round {self.round_id} (seed {self.seed}): "
        if self.coherent:
            return head + "coherent"
        lines = [head + f"{len(self.violations)} violation(s)"]
        lines += [f"  {v.name}: {v.message}" for v in self.violations]
        return "\n".join(lines)


class SweepReport(ProtocolModel):
    """The judgement of a sweep: one report per round."""

    rounds: tuple[CoherenceReport, ...]
    """The rounds' reports, in the order given."""

    @property
    def coherent(self) -> bool:
        """True when every round is coherent."""
        return all(r.coherent for r in self.rounds)


def check_round(
    messages: Iterable[TriadMessage], trits: Mapping[Role, int] | None = None
) -> CoherenceReport:
    """Judge one round from its message log (in the order the messages were sent).

    Args:
        messages: the round's messages.
        trits: the trit of each role; ``None`` for the defaults.

    Returns:
        A :class:`CoherenceReport`; ``report.coherent`` is True when no rule is broken.

    Raises:
        TypeError: an item is not a :class:`TriadMessage`.
        ValueError: ``trits`` is not a valid trit table.
    """
    table = validate_trits(trits)
    log = list(messages)
    for i, msg in enumerate(log):
        if not isinstance(msg, TriadMessage):
            raise TypeError(f"messages[{i}] is a {type(msg).__name__}, not a TriadMessage")
    found: list[Violation] = []
    moves = [(i, m) for i, m in enumerate(log) if m.payload.kind in _MOVES]
    found += _once_each(moves)
    found += _kinds(log)
    found += _order(log)
    seed = _round_seed(log)
    found += _same_round(log, seed)
    total = sum(table[m.sender] for _, m in moves)
    if total % 3:
        senders = " + ".join(f"{m.sender.value}({table[m.sender]:+d})" for _, m in moves)
        found.append(Violation(name="trit_sum", message=f"{senders or '0'} = {total} ≢ 0 (mod 3)"))
    found += _outcome(log)
    found.sort(key=lambda v: VIOLATION_NAMES.index(v.name))
    return CoherenceReport(
        round_id=log[0].round_id if log else None,
        seed=seed,
        trit_sum=total,
        violations=tuple(found),
    )


def check_sweep(
    rounds: Iterable[Iterable[TriadMessage]], trits: Mapping[Role, int] | None = None
) -> SweepReport:
    """Judge every round of a sweep; the sweep is coherent when every round is."""
    return SweepReport(rounds=tuple(check_round(r, trits) for r in rounds))


def _once_each(moves: Sequence[tuple[int, TriadMessage]]) -> list[Violation]:
    found = []
    for role in Role:
        sent = [i for i, m in moves if m.sender is role]
        if not sent:
            found.append(Violation(name="missing_role", message=f"{role.value} sent no message"))
        elif len(sent) > 1:
            found.append(
                Violation(
                    name="duplicate_sender",
                    message=f"{role.value} sent {len(sent)} data messages (at {sent}); "
                    "one is allowed",
                    index=sent[1],
                )
            )
    return found


def _kinds(log: Sequence[TriadMessage]) -> list[Violation]:
    found = []
    for kind in ROUND_ORDER:
        at = [i for i, m in enumerate(log) if m.payload.kind == kind]
        if not at:
            found.append(Violation(name="missing_message", message=f"no {kind} message"))
        elif len(at) > 1:
            found.append(
                Violation(
                    name="duplicate_message",
                    message=f"{len(at)} {kind} messages (at {at}); one is allowed",
                    index=at[1],
                )
            )
        sender, to = ROUTES[kind]
        for i in at:
            msg = log[i]
            if (msg.sender, msg.to) != (sender, to):
                found.append(
                    Violation(
                        name="wrong_route",
                        message=f"{kind} went {msg.sender.value} → {msg.to.value}; "
                        f"expected {sender.value} → {to.value}",
                        index=i,
                    )
                )
    return found


def _order(log: Sequence[TriadMessage]) -> list[Violation]:
    found = []
    latest: tuple[int, int] | None = None  # (rank, index) of the furthest message so far
    for i, msg in enumerate(log):
        if msg.payload.kind not in ROUND_ORDER:
            continue
        rank = ROUND_ORDER.index(msg.payload.kind)
        if latest is not None and rank < latest[0]:
            found.append(
                Violation(
                    name="out_of_order",
                    message=f"{msg.payload.kind} (at {i}) came after "
                    f"{ROUND_ORDER[latest[0]]} (at {latest[1]})",
                    index=i,
                )
            )
        elif latest is None or rank > latest[0]:
            latest = (rank, i)
    return found


def _round_seed(log: Sequence[TriadMessage]) -> int | None:
    openers = [m for m in log if m.payload.kind == "seed"] or log
    return openers[0].seed if openers else None


def _same_round(log: Sequence[TriadMessage], seed: int | None) -> list[Violation]:
    found = []
    for i, msg in enumerate(log):
        if msg.seed != seed:
            found.append(
                Violation(
                    name="seed_mismatch",
                    message=f"{msg.payload.kind} (at {i}) carries seed {msg.seed}, "
                    f"the round's seed is {seed}",
                    index=i,
                )
            )
        if msg.round_id != log[0].round_id:
            found.append(
                Violation(
                    name="round_mismatch",
                    message=f"{msg.payload.kind} (at {i}) belongs to round {msg.round_id!r}, "
                    f"not {log[0].round_id!r}",
                    index=i,
                )
            )
    return found


def _outcome(log: Sequence[TriadMessage]) -> list[Violation]:
    found = []
    for i, msg in enumerate(log):
        payload = msg.payload
        if payload.kind == "verdict" and not payload.passed:
            failed = ", ".join(c.name for c in payload.checks if not c.passed)
            found.append(
                Violation(name="verdict_failed", message=f"failed checks: {failed}", index=i)
            )
        elif payload.kind == "error":
            found.append(
                Violation(
                    name="error_reported",
                    message=f"{msg.sender.value} reported {payload.error_type}: {payload.message}",
                    index=i,
                )
            )
    return found
