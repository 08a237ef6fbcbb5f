"""One small function per registered rule that is not element-wise (linear maps, reductions,
views, products, creation, extrema, primitives), for test_rule_shapes.py: each applies its rule to an
active array and returns a float. Arguments: ``a`` a 3x4 float array, ``v`` a 4-vector."""

import numpy as np

from adtriad.ad_core import array_primitives as _prim


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


def method_dot(a, v):
    w = a.dot(v)
    return w.dot(w)


def ravel(a, v):
    return np.sum(np.ravel(a) * np.arange(12.0))


def method_ravel(a, v):
    return np.sum(a.T.copy().ravel() ** 3)


def method_flatten(a, v):
    return np.sum(np.sin(a.flatten()))


def atleast_1d(a, v):
    return np.sum(np.atleast_1d(v) ** 3)


def atleast_2d(a, v):
    return np.sum(np.atleast_2d(v) * a[:1])


def atleast_3d(a, v):
    return np.sum(np.atleast_3d(a) ** 2)


def asarray(a, v):
    return np.sum(np.asarray(a) * a)


def trace(a, v):
    return np.trace(a) * np.trace(a * a)


def prod(a, v):
    return np.prod(v) + np.prod(a[0])


def method_prod(a, v):
    return (v * v).prod()


def cumsum(a, v):
    return np.sum(np.cumsum(a) * np.arange(12.0))


def method_cumsum(a, v):
    return np.sum(np.sin(v.cumsum()))


def var(a, v):
    return np.var(a) + np.var(v)


def method_var(a, v):
    return (a * v).var()


def std(a, v):
    return np.std(a) * np.std(v)


def method_std(a, v):
    return (a + v).std()


def norm(a, v):
    return np.linalg.norm(v) + np.linalg.norm(a)


def square(a, v):  # a well-conditioned square matrix made from a
    s = np.dot(a.T, a)
    for i in range(4):
        s[i, i] += 4.0
    return s


def det(a, v):
    return np.linalg.det(square(a, v))


def inv(a, v):
    return np.sum(np.linalg.inv(square(a, v)) * np.arange(16.0).reshape(4, 4))


def cholesky(a, v):
    m = square(a, v)
    return np.sum(np.linalg.cholesky(np.dot(m, m.T)) * np.arange(16.0).reshape(4, 4))


def solve(a, v):
    return np.sum(np.linalg.solve(square(a, v), v) ** 2)


def outer(a, v):
    return np.sum(np.outer(v, a[1]) * a[0, 0])


def sort(a, v):
    return np.sum(np.sort(v) * np.arange(4.0)) + np.sum(np.sort(a[2]) ** 2)


def cross(a, v):
    return np.sum(np.cross(v[:3], a[0, 1:]) ** 2)


def flip(a, v):
    return np.sum(np.flip(v) * np.arange(4.0)) + np.sum(np.flip(a) * a)


def fliplr(a, v):
    return np.sum(np.fliplr(a) * a)


def flipud(a, v):
    return np.sum(np.flipud(a) ** 2 * a)


def triu(a, v):
    return np.sum(np.triu(a) * a) + np.sum(np.triu(a, 1) ** 2)


def tril(a, v):
    return np.sum(np.tril(a) ** 2) + np.sum(np.tril(a, -1) * a)


def unbroadcast(a, v):  # what adjoints of broadcasting accumulate through
    return np.sum(_prim.unbroadcast(a * a, (1, 4)) * v) + np.sum(_prim.unbroadcast(a, (4,)) ** 2)


CASES = {
    "np.copy": copy, "np.ascontiguousarray": ascontiguousarray, "np.array": array_of_list,
    ".copy": method_copy, "np.sum": sum_whole, ".sum": method_sum, "np.mean": mean_whole,
    ".mean": method_mean, "np.zeros": zeros, "np.ones": ones, "np.empty": empty,
    "np.zeros_like": zeros_like, "np.ones_like": ones_like, "np.empty_like": empty_like,
    "np.max": max_, "np.amax": amax, ".max": method_max, "np.min": min_, "np.amin": amin,
    ".min": method_min, "np.transpose": transpose, "np.reshape": reshape,
    "np.expand_dims": expand_dims, ".reshape": method_reshape, ".transpose": method_transpose,
    ".T": attribute_T, "@": matmul, "np.dot": dot, ".dot": method_dot, "np.ravel": ravel,
    ".ravel": method_ravel, ".flatten": method_flatten, "np.atleast_1d": atleast_1d,
    "np.atleast_2d": atleast_2d, "np.atleast_3d": atleast_3d, "np.asarray": asarray,
    "np.trace": trace, "np.prod": prod, ".prod": method_prod, "np.cumsum": cumsum,
    ".cumsum": method_cumsum, "np.var": var, ".var": method_var, "np.std": std,
    ".std": method_std, "np.linalg.norm": norm, "np.linalg.det": det, "np.linalg.inv": inv,
    "np.linalg.solve": solve, "np.outer": outer, "np.sort": sort, "np.cross": cross,
    "np.flip": flip, "np.fliplr": fliplr, "np.flipud": flipud, "np.triu": triu,
    "np.tril": tril, "_prim.unbroadcast": unbroadcast, "np.linalg.cholesky": cholesky,
}
# reductions along an axis: the second half of those rules
AXIS_CASES = {"np.sum": sum_axis}  # (Numba compiles np.mean without an axis only)


def every_case_0(a, v):
    """Every fourth case (from the first), each with its own weight."""
    return (1 * copy(a, v)
            + 1.5 * sum_whole(a, v)
            + 2 * zeros(a, v)
            + 2.5 * ones_like(a, v)
            + 3 * method_max(a, v)
            + 3.5 * transpose(a, v)
            + 4 * method_transpose(a, v)
            + 4.5 * method_dot(a, v)
            + 5 * atleast_1d(a, v)
            + 5.5 * trace(a, v)
            + 6 * method_cumsum(a, v)
            + 6.5 * method_std(a, v)
            + 7 * solve(a, v)
            + 7.5 * flip(a, v)
            + 8 * tril(a, v)
            + 8.5 * cholesky(a, v))


def every_case_1(a, v):
    """Every fourth case (from the second), each with its own weight."""
    return (1.125 * ascontiguousarray(a, v)
            + 1.625 * method_sum(a, v)
            + 2.125 * ones(a, v)
            + 2.625 * empty_like(a, v)
            + 3.125 * min_(a, v)
            + 3.625 * reshape(a, v)
            + 4.125 * attribute_T(a, v)
            + 4.625 * ravel(a, v)
            + 5.125 * atleast_2d(a, v)
            + 5.625 * prod(a, v)
            + 6.125 * var(a, v)
            + 6.625 * norm(a, v)
            + 7.125 * outer(a, v)
            + 7.625 * fliplr(a, v)
            + 8.125 * unbroadcast(a, v))


def every_case_2(a, v):
    """Every fourth case (from the third), each with its own weight."""
    return (1.25 * array_of_list(a, v)
            + 1.75 * mean_whole(a, v)
            + 2.25 * empty(a, v)
            + 2.75 * max_(a, v)
            + 3.25 * amin(a, v)
            + 3.75 * expand_dims(a, v)
            + 4.25 * matmul(a, v)
            + 4.75 * method_ravel(a, v)
            + 5.25 * atleast_3d(a, v)
            + 5.75 * method_prod(a, v)
            + 6.25 * method_var(a, v)
            + 6.75 * det(a, v)
            + 7.25 * sort(a, v)
            + 7.75 * flipud(a, v))


def every_case_3(a, v):
    """Every fourth case (from the fourth), each with its own weight."""
    return (1.375 * method_copy(a, v)
            + 1.875 * method_mean(a, v)
            + 2.375 * zeros_like(a, v)
            + 2.875 * amax(a, v)
            + 3.375 * method_min(a, v)
            + 3.875 * method_reshape(a, v)
            + 4.375 * dot(a, v)
            + 4.875 * method_flatten(a, v)
            + 5.375 * asarray(a, v)
            + 5.875 * cumsum(a, v)
            + 6.375 * std(a, v)
            + 6.875 * inv(a, v)
            + 7.375 * cross(a, v)
            + 7.875 * triu(a, v))


# one compilation per group; the groups run as separate tests (on both test workers)
EVERY_CASE = (every_case_0, every_case_1, every_case_2, every_case_3)
