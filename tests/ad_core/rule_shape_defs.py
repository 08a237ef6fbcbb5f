"""One small function per registered rule that is not element-wise (linear maps, reductions,
views, products, creation, extrema), for test_rule_shapes.py: each applies its rule to an
active array and returns a float. Arguments: ``a`` a 3x4 float array, ``v`` a 4-vector."""

import numpy as np


def copy(a, v):
    b = np.copy(a)
    return np.sum(b * b)


def ascontiguousarray(a, v):
    b = np.ascontiguousarray(a.T)
    return np.sum(b * b * b)


def array_of_list(a, v):
    b = np.array([v[0] * v[1], a[0, 0], 2.0])
    return np.sum(b * b)


def method_copy(a, v):
    b = a.copy()
    b[0, 0] = 2.0
    return np.sum(b * a)


def sum_whole(a, v):
    return np.sum(a * a)


def sum_axis(a, v):
    s = np.sum(a * a, axis=1)
    return np.sum(s * s)


def method_sum(a, v):
    return (a * a).sum()


def mean_whole(a, v):
    return np.mean(a * a)


def method_mean(a, v):
    return (a * a).mean()


def zeros(a, v):
    b = np.zeros(a.shape)
    b[1, 2] = a[1, 2] * a[0, 0]
    return np.sum(b * a)


def ones(a, v):
    return np.sum(np.ones(v.shape[0]) * v)


def empty(a, v):
    b = np.empty(4)
    for i in range(4):
        b[i] = v[i] * v[i]
    return np.sum(b)


def zeros_like(a, v):
    b = np.zeros_like(a)
    b[0, 1] = a[0, 1] * 3.0
    return np.sum(b * b)


def ones_like(a, v):
    return np.sum(np.ones_like(a) * a * a)


def empty_like(a, v):
    b = np.empty_like(v)
    for i in range(4):
        b[i] = v[i] * a[0, i]
    return np.sum(b)


def max_(a, v):
    return np.max(a * v)


def amax(a, v):
    return np.amax(a) * 2.0


def method_max(a, v):
    return (a * a).max()


def min_(a, v):
    return np.min(a * v)


def amin(a, v):
    return np.amin(a) * 3.0


def method_min(a, v):
    return (a * v).min()


def transpose(a, v):
    b = np.transpose(a)
    return np.sum(b[1] * v[:3])


def reshape(a, v):
    b = np.reshape(a, (4, 3))
    return np.sum(b[0] * b[1])


def expand_dims(a, v):
    b = np.expand_dims(v, 0)
    return np.sum(b * a)


def method_reshape(a, v):
    b = a.reshape(2, 6)
    return np.sum(b[1] * b[0])


def method_transpose(a, v):
    b = a.transpose()
    return np.sum(b[2] * b[3])


def attribute_T(a, v):
    b = a.T
    return np.sum(b[0] * v[:3] * v[1:])


def matmul(a, v):
    w = a @ v
    return np.sum(w * w)


def dot(a, v):
    w = np.dot(a, v)
    return np.dot(w, w)


CASES = {
    "np.copy": copy, "np.ascontiguousarray": ascontiguousarray, "np.array": array_of_list,
    ".copy": method_copy, "np.sum": sum_whole, ".sum": method_sum, "np.mean": mean_whole,
    ".mean": method_mean, "np.zeros": zeros, "np.ones": ones, "np.empty": empty,
    "np.zeros_like": zeros_like, "np.ones_like": ones_like, "np.empty_like": empty_like,
    "np.max": max_, "np.amax": amax, ".max": method_max, "np.min": min_, "np.amin": amin,
    ".min": method_min, "np.transpose": transpose, "np.reshape": reshape,
    "np.expand_dims": expand_dims, ".reshape": method_reshape, ".transpose": method_transpose,
    ".T": attribute_T, "@": matmul, "np.dot": dot,
}
# reductions along an axis: the second half of those rules
AXIS_CASES = {"np.sum": sum_axis}  # (Numba compiles np.mean without an axis only)
