"""Binomial checkpointing of time loops (``checkpointed(mode, memory)``,
``api.checkpointing(memory)``): gradients against central differences in float64 and against
the fully taped reverse sweep, at budgets from one snapshot to one per trip; the tape holds
one trip; the schedule's semantics checked on a model of the state; bad budgets and loops
that cannot be checkpointed are refused."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numba import njit

from adtriad.ad_core import (ADError, Active, Const, Duplicated, Forward, Reverse,
                             ReverseSplitWithPrimal, ReverseWithPrimal, api, autodiff,
                             autodiff_thunk, checkpointed, gradient)
from adtriad.ad_core import _runtime

ONE_SNAPSHOT = 1  # bytes: fewer than one snapshot needs, so exactly one is kept
PLENTY = 10**9


def heat(u, steps, c):
    """An explicit stencil updating its state in place, then a loss."""
    n = u.shape[0]
    v = np.zeros(n)
    for t in range(steps):
        for i in range(1, n - 1):
            v[i] = u[i] + c * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        for i in range(1, n - 1):
            u[i] = v[i] * (1.0 + 0.1 * v[i])
    s = 0.0
    for i in range(n):
        s += u[i] * u[i]
    return s


@njit
def advance(u, v, c):
    n = u.shape[0]
    for i in range(1, n - 1):
        v[i] = u[i] + c * (u[i - 1] - 2.0 * u[i] + u[i + 1])
    for i in range(n):
        u[i] = np.sin(v[i])


def stepped(u, steps, c):
    """A step function called each trip, with a float and an int carried between trips."""
    v = np.zeros_like(u)
    e = 0.0
    k = 0
    for t in range(steps):
        advance(u, v, c)
        e = e * 0.5 + u[1] * c
        k += 1
    return e + np.sum(u * u) + k


def rebinding(u, steps, c):
    """Whole-array code: the state is rebound every trip; odd range bounds."""
    x = 1.0
    for t in range(3, 3 + 2 * steps, 2):
        u = u + c * np.sin(u) * x
        for j in range(2):
            x = x * 0.5 + 0.1 * u[j]
    return np.sum(u * u) + x


def branchy(u, steps, c):
    """Branches, a while loop, an int array and a bool carried between trips."""
    n = u.shape[0]
    hits = np.zeros(n, np.int64)
    flag = False
    for t in range(steps):
        for i in range(n):
            if u[i] > 0.5:
                u[i] = u[i] * (1.0 + c)
                hits[i] += 1
            else:
                u[i] = u[i] + c * u[i] * u[i]
        k = 0
        while k < 2 and not flag:
            u[k] = u[k] * 0.9 + 0.05 * hits[k]
            k += 1
        flag = hits[0] > 3
    return np.sum(u * u)


def central_differences(f, u, steps, c, h=1e-6):
    du = np.zeros_like(u)
    for k in range(u.size):
        up, down = u.copy(), u.copy()
        up[k] += h
        down[k] -= h
        du[k] = (f(up, steps, c) - f(down, steps, c)) / (2 * h)
    dc = (f(u.copy(), steps, c + h) - f(u.copy(), steps, c - h)) / (2 * h)
    return du, dc


def reverse(mode, f, u0, steps, c):
    u, du = u0.copy(), np.zeros_like(u0)
    primal, derivs = autodiff(mode, f, Active, Duplicated(u, du), Const(steps), Active(c))
    return primal, du, derivs[2], u


@pytest.mark.parametrize("f", [heat, stepped, rebinding, branchy])
@pytest.mark.parametrize("steps", [0, 1, 2, 13])
@pytest.mark.parametrize("memory", [ONE_SNAPSHOT, 8 * 12 * 3, PLENTY])
def test_checkpointed_gradients_match_differences_and_the_taped_sweep(f, steps, memory):
    u0 = np.random.default_rng(steps).uniform(0.1, 0.9, 12)
    primal, du, dc, u = reverse(checkpointed(ReverseWithPrimal, memory), f, u0, steps, 0.3)
    fd_u, fd_c = central_differences(f, u0, steps, 0.3)
    np.testing.assert_allclose(du, fd_u, rtol=1e-6, atol=1e-7)
    assert dc == pytest.approx(fd_c, rel=1e-6, abs=1e-7)
    taped = reverse(ReverseWithPrimal, f, u0, steps, 0.3)
    assert primal == pytest.approx(taped[0], rel=1e-13)
    np.testing.assert_allclose(du, taped[1], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(u, taped[3])  # the argument holds the primal's result


def tape_of(mode, u0, steps, f=heat):
    """Bytes on the tape when the augmented sweep of this call ends (the module the call used:
    the mode's own budget, else the configured one)."""
    u, du = u0.copy(), np.zeros_like(u0)
    anns = (Duplicated(u, du), Const(steps), Active(0.3))
    autodiff(mode, f, Active, *anns)
    _, vals, mask = api._prepare(Reverse, f, anns)
    module = api._module(f, "reverse", vals, mask, checkpoint=api._checkpoint_memory(mode))
    return 8 * sum(module.tape_hint)


def test_the_tape_holds_one_trip_instead_of_all():
    u0 = np.linspace(0.2, 0.8, 200)
    taped = tape_of(Reverse, u0, 100)
    one_trip = tape_of(checkpointed(Reverse, 200 * 16 * 5), u0, 100)
    assert taped > 100 * 2 * 190 * 8  # every trip's two overwritten arrays
    assert one_trip < 4 * 200 * 8  # one trip's, and v saved for the loss's adjoint


def test_split_mode_and_gradient_take_the_checkpointed_mode():
    u0 = np.random.default_rng(4).uniform(0.1, 0.9, 10)
    forward, back = autodiff_thunk(checkpointed(ReverseSplitWithPrimal, 300), Const(stepped),
                                   Active, Duplicated, Const, Active)
    u, du = u0.copy(), np.zeros_like(u0)
    args = (Duplicated(u, du), Const(9), Active(0.3))
    tape, primal, _ = forward(Const(stepped), *args)
    (derivs,) = back(Const(stepped), *args, 1.0, tape)
    fd_u, fd_c = central_differences(stepped, u0, 9, 0.3)
    np.testing.assert_allclose(du, fd_u, rtol=1e-6, atol=1e-7)
    assert derivs[2] == pytest.approx(fd_c, rel=1e-6)

    def loss(u, c):
        return stepped(u, 6, c)

    gu, gc = gradient(checkpointed(Reverse, 1), loss, u0.copy(), 0.3)
    fd_u, fd_c = central_differences(lambda a, _, c: stepped(a, 6, c), u0, 6, 0.3)
    np.testing.assert_allclose(gu, fd_u, rtol=1e-6, atol=1e-7)
    assert gc == pytest.approx(fd_c, rel=1e-6)


def test_the_configuration_setting_checkpoints_every_reverse_call():
    u0 = np.linspace(0.2, 0.8, 50)
    previous = api.checkpointing("2 KiB")
    try:
        assert api.checkpointing("2 KiB") == 2048
        checkpointed_tape = tape_of(Reverse, u0, 40)
    finally:
        api.checkpointing(previous)
    assert checkpointed_tape < tape_of(Reverse, u0, 40) / 10


@pytest.mark.parametrize("memory", ["lots", "0 GB", -3, None, True])
def test_a_bad_budget_is_refused(memory):
    with pytest.raises(ADError, match="memory"):
        checkpointed(Reverse, memory)


def test_only_reverse_modes_are_checkpointed():
    with pytest.raises(ADError, match="reverse mode"):
        checkpointed(Forward, "1 GB")


@pytest.mark.parametrize("text, size", [("2 GB", 2 * 10**9), ("512MiB", 512 * 2**20),
                                        ("1.5 kb", 1500), (4096, 4096)])
def test_budgets_are_read_with_units(text, size):
    assert checkpointed(Reverse, text).checkpoint_memory == size


TABLE = np.linspace(0.5, 1.5, 8)


@njit
def scaled(u):
    for i in range(u.shape[0]):
        u[i] = u[i] * TABLE[i]


def global_reader(u, steps):
    for t in range(steps):
        scaled(u)
    return np.sum(u)


def test_a_step_reading_global_arrays_is_refused_at_its_line():
    u = np.ones(8)
    with pytest.raises(ADError, match=r"test_checkpointing.py:\d+:\d+: .*global arrays.*pass "
                                      r"those arrays to it as arguments"):
        autodiff(checkpointed(Reverse, PLENTY), global_reader, Active,
                 Duplicated(u, np.zeros(8)), Const(3))


def replay(trips: int, slots: int):
    """Run a schedule on a model whose state is the trip count reached: every trip must be
    taped from its own state and reversed once, in descending order, right after it was taped
    or (for the last) after the augmented sweep; at most ``slots`` snapshots live at once."""
    rows = np.concatenate(list(_runtime._schedule(trips, slots)))
    state, saved, taped, reversed_ = 0, {}, [], []
    sweep = "augmented"
    for kind, a, b, slot, tape in rows:
        if kind == _runtime.END_FORWARD:
            assert state == trips and sweep == "augmented"
            sweep = "adjoint"
        elif kind == _runtime.END_REVERSE:
            break
        elif kind == _runtime.LOAD:
            state = saved[slot]
            assert state == a
        elif kind == _runtime.FORWARD:
            assert state == a
            if slot >= 0:
                saved[slot] = state
                assert 0 <= slot < slots
            if tape:
                taped.extend(range(a, b))
            state = b
        elif kind == _runtime.REVERSE:
            assert sweep == "adjoint" and taped[-(a - b):] == list(range(b, a))
            del taped[-(a - b):]
            reversed_.extend(range(a - 1, b - 1, -1))
            state = None  # the adjoint sweep restores only what it reads
    assert reversed_ == list(range(trips - 1, -1, -1)) and not taped


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 80), st.integers(1, 12))
def test_the_schedule_reverses_every_trip_once_from_its_own_state(trips, slots):
    replay(trips, slots)


def simulate(u, steps, c):
    v = np.zeros_like(u)
    for t in range(steps):
        advance(u, v, c)


def loss_of_simulation(u, steps, c):
    """The time loop lives in a function the loss calls (outside any loop)."""
    simulate(u, steps, c)
    return np.sum(u * u) * c


def test_a_time_loop_in_a_called_simulation_is_checkpointed():
    u0 = np.random.default_rng(5).uniform(0.1, 0.9, 150)
    mode = checkpointed(ReverseWithPrimal, 150 * 16 * 3)
    primal, du, dc, _ = reverse(mode, loss_of_simulation, u0[:12], 11, 0.3)
    fd_u, fd_c = central_differences(loss_of_simulation, u0[:12], 11, 0.3)
    np.testing.assert_allclose(du, fd_u, rtol=1e-6, atol=1e-7)
    assert dc == pytest.approx(fd_c, rel=1e-6)
    assert tape_of(checkpointed(Reverse, 150 * 16 * 3), u0, 80, loss_of_simulation) < \
        tape_of(Reverse, u0, 80, loss_of_simulation) / 20
