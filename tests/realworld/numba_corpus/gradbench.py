"""The GradBench evals (github gradbench/gradbench, commit
f26651a7bcc120654fa895adecaf371b8cc059c5) written as a Numba user would write them.

GradBench has no Numba implementations: every function below is written here with
``@njit``, loops and NumPy, following the eval's definition (``evals/<name>/README.md``) and its
reference implementations (``python/gradbench/gradbench/tools/{jax,pytorch}/*.py``, the
C++ ``cpp/gradbench/evals/*.hpp``, and ADBench's objectives that GradBench adopts). They are
therefore not third-party code; they stand for what Numba code computing these objectives
looks like. The ``ht`` (hand tracking) eval is left out: its model needs a mesh and skinning
data that do not fit a small corpus entry.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .entry import Entry, rng

SRC = "gradbench/gradbench: "


# ---- lse: evals/lse, tools/jax/lse.py ------------------------------------------------------------
@njit
def logsumexp(x):
    x_max = np.max(x)
    return np.log(np.sum(np.exp(x - x_max))) + x_max


# ---- llsq: evals/llsq, tools/jax/llsq.py ----------------------------------------------------------
@njit
def llsq_t(i, n):
    return -1.0 + (i * 2.0) / (n - 1.0)


@njit
def llsq(x, n):
    m = x.shape[0]
    total = 0.0
    for i in range(n):
        ti = llsq_t(i, n)
        mul = 1.0
        s = 0.0
        for j in range(m):
            s -= x[j] * mul
            mul *= ti
        total += (np.sign(ti) + s) ** 2
    return total / 2.0


# ---- kmeans: evals/kmeans, tools/jax/kmeans.py ------------------------------------------------------
@njit
def kmeans_cost(points, centers):
    n, d = points.shape
    k = centers.shape[0]
    cost = 0.0
    for i in range(n):
        best = np.inf
        for j in range(k):
            dist = 0.0
            for a in range(d):
                diff = points[i, a] - centers[j, a]
                dist += diff * diff
            if dist < best:
                best = dist
        cost += best
    return cost


# ---- gmm: evals/gmm, tools/jax/gmm_objective.py (ADBench's GMM objective) -----------------------------
@njit
def multigammaln(a, p):
    out = 0.25 * p * (p - 1) * math.log(math.pi)
    for j in range(1, p + 1):
        out += math.lgamma(a + (1 - j) / 2.0)
    return out


@njit
def gmm_objective(x, alphas, means, qs, ls, gamma, m):
    n, d = x.shape
    k = alphas.shape[0]
    CONSTANT = -n * d * 0.5 * math.log(2 * math.pi)
    sum_qs = np.sum(qs, axis=1)
    Qdiags = np.exp(qs)
    inner = np.empty(k)
    slse = 0.0
    for i in range(n):
        for c in range(k):
            sq = 0.0
            idx = 0
            for row in range(d):
                v = Qdiags[c, row] * (x[i, row] - means[c, row])
                for col in range(row):
                    v += ls[c, idx] * (x[i, col] - means[c, col])
                    idx += 1
                sq += v * v
            inner[c] = alphas[c] + sum_qs[c] - 0.5 * sq
        slse += logsumexp(inner)
    # log Wishart prior
    p = d
    nw = p + m + 1
    prior = 0.0
    for c in range(k):
        prior += 0.5 * gamma * gamma * (np.sum(Qdiags[c] ** 2) + np.sum(ls[c] ** 2)) - m * sum_qs[c]
    C = nw * p * (math.log(gamma / math.sqrt(2.0)))
    wishart = -prior + k * (C - multigammaln(0.5 * nw, p))
    return CONSTANT + slse - n * logsumexp(alphas) + wishart



# ---- ba: evals/ba, tools/pytorch/ba_objective.py (ADBench's bundle adjustment) -----------------------
ROT_IDX = 0
C_IDX = 3
F_IDX = 6
X0_IDX = 7
RAD_IDX = 9


@njit
def rodrigues_rotate_point(rot, X):
    sqtheta = np.sum(rot ** 2)
    if sqtheta != 0.0:
        theta = np.sqrt(sqtheta)
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        theta_inverse = 1.0 / theta
        w = theta_inverse * rot
        w_cross_X = np.cross(w, X)
        tmp = np.dot(w, X) * (1.0 - costheta)
        return X * costheta + w_cross_X * sintheta + w * tmp
    else:
        return X + np.cross(rot, X)


@njit
def radial_distort(rad_params, proj):
    rsq = np.sum(proj ** 2)
    L = 1.0 + rad_params[0] * rsq + rad_params[1] * rsq * rsq
    return proj * L


@njit
def project(cam, X):
    Xcam = rodrigues_rotate_point(cam[ROT_IDX:ROT_IDX + 3], X - cam[C_IDX:C_IDX + 3])
    distorted = radial_distort(cam[RAD_IDX:RAD_IDX + 2], Xcam[0:2] / Xcam[2])
    return distorted * cam[F_IDX] + cam[X0_IDX:X0_IDX + 2]


@njit
def ba_objective(cams, X, w, feats, obs):
    """Sum of squared reprojection and weight errors over all observations."""
    total = 0.0
    for i in range(obs.shape[0]):
        err = w[i] * (project(cams[obs[i, 0]], X[obs[i, 1]]) - feats[i])
        total += np.sum(err ** 2)
        total += (1.0 - w[i] ** 2) ** 2
    return total


# ---- lstm: evals/lstm, tools/pytorch/lstm_objective.py (ADBench's LSTM) ------------------------------
@njit
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@njit
def lstm_model(weight, bias, hidden, cell, _input):
    hsize = hidden.shape[0]
    gates = np.concatenate((_input, hidden, _input, hidden)) * weight + bias
    forget = sigmoid(gates[0:hsize])
    ingate = sigmoid(gates[hsize:2 * hsize])
    outgate = sigmoid(gates[2 * hsize:3 * hsize])
    change = np.tanh(gates[3 * hsize:])
    cell = cell * forget + ingate * change
    hidden = outgate * np.tanh(cell)
    return hidden, cell


@njit
def lstm_objective(main_params, extra_params, state, sequence):
    s = state.copy()
    total = 0.0
    count = 0
    _input = sequence[0]
    for t in range(sequence.shape[0] - 1):
        x = _input * extra_params[0]
        for i in range(0, s.shape[0], 2):
            h, c = lstm_model(main_params[i], main_params[i + 1], s[i], s[i + 1], x)
            s[i] = h
            s[i + 1] = c
            x = h
        ypred = x * extra_params[1] + extra_params[2]
        ynorm = ypred - np.log(np.sum(np.exp(ypred)) + 2.0)
        ygold = sequence[t + 1]
        total += np.sum(ygold * ynorm)
        count += ygold.shape[0]
        _input = ygold
    return -total / count


# ---- ode: evals/ode, tools/jax/ode.py ---------------------------------------------------------------
@njit
def ode_fun(x, y, out):
    out[0] = x[0]
    for i in range(1, y.shape[0]):
        out[i] = x[i] * y[i - 1]


@njit
def ode_last(x, s):
    """Runge-Kutta 4 from y = 0 to t = 2 in s steps; the last component of the final state."""
    tf = 2.0
    h = tf / s
    n = x.shape[0]
    y = np.zeros(n)
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    for _ in range(s):
        ode_fun(x, y, k1)
        ode_fun(x, y + h / 2 * k1, k2)
        ode_fun(x, y + h / 2 * k2, k3)
        ode_fun(x, y + h * k3, k4)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y[n - 1]


# ---- det: evals/det, cpp/gradbench/evals/det.hpp (cmpad's det_of_minor) ------------------------------
@njit
def det_of_minor(A, n, m, r, c):
    R0 = r[n]
    Cj = c[n]
    if m == 1:
        return A[R0 * n + Cj]
    detM = 0.0
    sign = 1
    r[n] = r[R0]
    Cj1 = n
    for j in range(m):
        M0j = A[R0 * n + Cj]
        c[Cj1] = c[Cj]
        detS = det_of_minor(A, n, m - 1, r, c)
        c[Cj1] = Cj
        if sign > 0:
            detM = detM + M0j * detS
        else:
            detM = detM - M0j * detS
        Cj1 = Cj
        Cj = c[Cj]
        sign = -sign
    r[n] = R0
    return detM


@njit
def det(A, ell):
    r = np.empty(ell + 1, dtype=np.int64)
    c = np.empty(ell + 1, dtype=np.int64)
    for i in range(ell + 1):
        r[i] = i + 1
        c[i] = i + 1
    r[ell] = 0
    c[ell] = 0
    return det_of_minor(A, ell, ell, r, c)


# ---- particle: evals/particle (Siskind & Pearlmutter's charged particle) -------------------------------
@njit
def particle_force(px, py, w):
    # F = -grad_x p(x; w), p = |x - (10, 10 - w)|^-1 + |x - (10, 0)|^-1
    fx = 0.0
    fy = 0.0
    dx = px - 10.0
    dy = py - (10.0 - w)
    r = math.sqrt(dx * dx + dy * dy)
    fx += dx / (r * r * r)
    fy += dy / (r * r * r)
    dx = px - 10.0
    dy = py - 0.0
    r = math.sqrt(dx * dx + dy * dy)
    fx += dx / (r * r * r)
    fy += dy / (r * r * r)
    return fx, fy


@njit
def particle(w):
    """x0(t_f)^2 of the path from (0, 8) with velocity (0.75, 0), naive Euler with dt = 0.1."""
    dt = 0.1
    px = 0.0
    py = 8.0
    vx = 0.75
    vy = 0.0
    while True:
        fx, fy = particle_force(px, py, w)
        nx = px + dt * vx
        ny = py + dt * vy
        if ny < 0.0:
            dt_f = -py / vy
            xf = px + dt_f * vx
            return xf * xf
        vx = vx + dt * fx
        vy = vy + dt * fy
        px = nx
        py = ny


# ---- saddle: evals/saddle, cpp/gradbench/evals/saddle.hpp --------------------------------------------
@njit
def saddle_objective(x1, y1, x2, y2):
    return (x1 * x1 + y1 * y1) - (x2 * x2 + y2 * y2)


@njit
def saddle_inner_max(x1, y1, x2, y2):
    """The inner max over (x2, y2) by 20 steps of gradient ascent (hand-written gradient)."""
    rate = 0.1
    for _ in range(20):
        x2 = x2 - rate * 2.0 * x2
        y2 = y2 - rate * 2.0 * y2
    return saddle_objective(x1, y1, x2, y2)


# ---- argument values ------------------------------------------------------------------------------


def _n(g, *shape):
    return g.standard_normal(shape)


def _gmm_args(k):
    g = rng(k, 80)
    n, d, K = 4, 3, 2
    return (_n(g, n, d), _n(g, K), _n(g, K, d), _n(g, K, d) * 0.3, _n(g, K, d * (d - 1) // 2) * 0.3, 1.0, 0)


def _ba_args(k):
    g = rng(k, 81)
    cams = np.zeros((2, 11))
    cams[:, 0:3] = 0.1 * _n(g, 2, 3)
    cams[:, 3:6] = 0.1 * _n(g, 2, 3)
    cams[:, 6] = 1.0 + 0.1 * g.uniform(size=2)
    cams[:, 7:9] = 0.1 * _n(g, 2, 2)
    cams[:, 9:11] = 0.01 * _n(g, 2, 2)
    X = _n(g, 3, 3) * 0.3
    X[:, 2] += 4.0
    obs = np.array([[0, 0], [0, 1], [1, 1], [1, 2]], dtype=np.int64)
    return (cams, X, g.uniform(0.5, 1.0, 4), 0.1 * _n(g, 4, 2), obs)


def _lstm_args(k):
    g = rng(k, 82)
    layers, b, c = 2, 3, 3
    return (_n(g, 2 * layers, 4 * b) * 0.5, _n(g, 3, b) * 0.5, _n(g, 2 * layers, b) * 0.5, _n(g, c, b))


def _entry(name, function, make_args, path, const=(), construct=""):
    return Entry(name, function, make_args, SRC + path, const, construct=construct)


ENTRIES = [
    _entry("lse", logsumexp, lambda k: (_n(rng(k, 1), 6),), "evals/lse", construct="np.max, log-sum-exp"),
    _entry("llsq", llsq, lambda k: (_n(rng(k, 1), 4) * 0.5, 5), "evals/llsq",
           construct="nested loops, np.sign"),
    _entry("kmeans", kmeans_cost, lambda k: (_n(rng(k, 1), 6, 2), _n(rng(k, 2), 3, 2)), "evals/kmeans",
           const=(0,), construct="running minimum in a branch"),
    _entry("gmm", gmm_objective, _gmm_args, "evals/gmm", const=(0,),
           construct="triangular index loops, logsumexp calls, math.lgamma"),
    _entry("ba", ba_objective, _ba_args, "evals/ba", const=(3, 4),
           construct="row views by index array, np.cross, branch"),
    _entry("lstm", lstm_objective, _lstm_args, "evals/lstm", const=(3,),
           construct="np.concatenate, tuple returns, row writes"),
    _entry("ode", ode_last, lambda k: (rng(k, 1).uniform(0.5, 1.5, 4), 4 + k), "evals/ode",
           construct="RK4, callee writing scratch arrays"),
    _entry("det", det, lambda k: (_n(rng(k, 1), 9), 3), "evals/det",
           construct="recursion, int index arrays"),
    _entry("particle", particle, lambda k: (0.0 + 0.05 * k,), "evals/particle",
           construct="while True with early return, tuple-returning call"),
    _entry("saddle", saddle_inner_max, lambda k: (0.5 + 0.1 * k, -0.3, 1.0, 0.7), "evals/saddle",
           construct="gradient ascent loop on arguments"),
]
