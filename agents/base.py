"""What the three agents share: building messages and turning a failure into an error message.

Contract: :func:`send` builds a :class:`~adtriad.protocol.TriadMessage`. :func:`guarded` wraps
an agent method whose first argument is the inbound message: when that message is missing or
is an error, the method is not run and returns ``None`` (the round already failed upstream);
when the method raises, it returns an ``ErrorPayload`` message from the agent's role that names
the agent, the method, the cause and the innermost ``file:line``. The wrapper never raises for
an exception of the method (``BaseException``s such as ``KeyboardInterrupt`` pass through).
"""

from __future__ import annotations

import functools
import traceback
from typing import Any

from adtriad.agents.sourcefile import user_locations
from adtriad.protocol import ErrorPayload, Role, TriadMessage

__all__ = ["error_message", "guarded", "is_error", "send"]


def send(sender: Role, to: Role, payload: Any, like: TriadMessage | None = None, *,
         seed: int | None = None, round_id: str | None = None) -> TriadMessage:
    """A message of the round ``like`` belongs to (or of ``seed``/``round_id``)."""
    return TriadMessage(
        sender=sender,
        to=to,
        payload=payload,
        seed=like.seed if seed is None else seed,
        round_id=like.round_id if round_id is None else round_id,
    )


def is_error(msg: TriadMessage | None) -> bool:
    """True for a missing message or an error message."""
    return msg is None or msg.payload.kind == "error"


def error_message(sender: Role, to: Role, like: TriadMessage, err: BaseException,
                  doing: str) -> TriadMessage:
    """The ``ErrorPayload`` message ``sender`` sends when ``err`` stopped it doing ``doing``."""
    frames = traceback.extract_tb(err.__traceback__)
    where = f"{sender.value} agent, {doing}"
    if frames:
        where += f" ({user_locations(f'{frames[-1].filename}:{frames[-1].lineno}')})"
    text = user_locations(str(err) or repr(err))  # an inline kernel's lines: the user's file
    payload = ErrorPayload(error_type=type(err).__name__, message=text[:4000], where=where)
    return send(sender, to, payload, like)


def guarded(to: Role):
    """Decorate an agent method: see the module contract. ``to`` receives the error."""

    def wrap(method):
        @functools.wraps(method)
        def run(self, inbound: TriadMessage | None, *args, **kwargs):
            if is_error(inbound):
                return None
            try:
                return method(self, inbound, *args, **kwargs)
            except Exception as err:
                return error_message(self.role, to, inbound, err, method.__name__)

        return run

    return wrap
