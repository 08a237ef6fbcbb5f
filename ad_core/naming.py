"""Every name the engine generates, in one place. All start with ``_ad_``; user identifiers
starting with ``_ad_`` are refused by the normalizer, so generated names never collide with
the user's (generated code differentiated again has its ``_ad_`` locals renamed ``_ad1_``)."""

PREFIX = "_ad"


def temp(n: int) -> str:
    return f"{PREFIX}_t{n}"


def flag(kind: str, n: int) -> str:
    return f"{PREFIX}_{kind}{n}"


RET_FLAG = f"{PREFIX}_returned"
RET_VALUE = f"{PREFIX}_result"


def tangent(name: str, lane: int | None = None) -> str:
    """The forward-mode tangent of ``name`` (lane ``k`` in batch mode)."""
    return f"{PREFIX}_dot_{name}" if lane is None else f"{PREFIX}_dot{lane}_{name}"


def adjoint(name: str, lane: int | None = None) -> str:
    """The reverse-mode adjoint (accumulated cotangent) of ``name`` (lane ``k`` in batch mode)."""
    return f"{PREFIX}_bar_{name}" if lane is None else f"{PREFIX}_bar{lane}_{name}"


def seed(lane: int | None = None) -> str:
    """The cotangent of the result (lane ``k`` in batch mode)."""
    return SEED if lane is None else f"{SEED}{lane}"


def grad(lane: int | None = None) -> str:
    """The cotangent a statement passes on while it is reversed."""
    return GRAD if lane is None else f"{GRAD}{lane}"


def callee(fname: str, n: int, kind: str) -> str:
    """A generated function: ``kind`` is 'primal', 'tangent', 'augmented' or 'adjoint'."""
    return f"{fname}__{kind}{n}"


# Tape state: a float64 stack and an int64 stack with their fill counts, and the key their
# spilled chunks are kept under (the unchecked and device flavors have no key).
TAPE_F, TAPE_NF, TAPE_I, TAPE_NI = (f"{PREFIX}_tape_f", f"{PREFIX}_tape_nf",
                                    f"{PREFIX}_tape_i", f"{PREFIX}_tape_ni")
SPILL_KEY = f"{PREFIX}_spill_key"
TAPE = (TAPE_F, TAPE_NF, TAPE_I, TAPE_NI, SPILL_KEY)
# Deterministic device code logs shared adjoint contributions (values, keys) instead of
# adding them with atomics; they are summed in a fixed order after the launch.
LOG_V, LOG_K = f"{PREFIX}_log_v", f"{PREFIX}_log_k"
SEED = f"{PREFIX}_seed"
GRAD = f"{PREFIX}_g"


def hidden(spelled: str) -> str:
    """The hidden parameter carrying the global ``spelled`` (``DATA``, ``mod.TABLE``)."""
    return f"{PREFIX}_g_{spelled.replace('.', '_')}"


def counter(uid: int) -> str:
    return f"{PREFIX}_trips{uid}"


def loop_start(uid: int) -> str:
    return f"{PREFIX}_start{uid}"


def loop_step(uid: int) -> str:
    return f"{PREFIX}_step{uid}"


def loop_cache(uid: int, stack: str) -> tuple[str, str]:
    """The array and position a loop that took room pushes (and pops) ``stack``'s values
    with."""
    return f"{PREFIX}_cache_{stack}{uid}", f"{PREFIX}_at_{stack}{uid}"


def planned_trips(uid: int) -> str:
    """A loop's trip count as its range gives it on entry (room is made for its pushes)."""
    return f"{PREFIX}_planned{uid}"


def rev_index(uid: int) -> str:
    return f"{PREFIX}_k{uid}"


def branch(uid: int) -> str:
    return f"{PREFIX}_branch{uid}"
