"""Whole-array NumPy models the NumPy tests differentiate and benchmarks/bench_numpy.py times."""

import numpy as np


def mlp_loss(W1, b1, W2, X, Y):
    H = np.tanh(X @ W1 + b1)
    out = H @ W2
    r = out - Y
    return np.sum(r * r) / X.shape[0]


def softmax_cross_entropy(Z, T):
    m = np.max(Z)
    E = np.exp(Z - m)
    s = np.sum(E, axis=1)
    logp = Z - m - np.expand_dims(np.log(s), 1)
    return -np.sum(T * logp)
