"""What the engine differentiates and what it refuses, as Markdown (``docs/coverage.md``).

Contract: :func:`markdown` renders the rule registry (:mod:`~adtriad.ad_core.derivatives`:
every key by shape, the NumPy functions with no rule yet, those whose results are integers)
and the constructs the normalizer and the generators accept or refuse. ``python -m
adtriad.ad_core.coverage > docs/coverage.md`` writes the document; a test keeps it current.
"""

from __future__ import annotations

from adtriad.ad_core import derivatives

SHAPE_TITLES = {
    "elementwise": "Element-wise (scalars and arrays, with broadcasting)",
    "linear": "Linear maps", "reduction": "Reductions (whole array, or `axis=k` for np.sum)",
    "view": "Views", "product": "Matrix products", "creation": "Creation (zero derivative)",
    "extrema": "Whole-array extrema", "primitive": "Whole-array functions (a rule per operand)",
}

CONSTRUCTS = """\
## Constructs

Differentiated, in both modes:

- `for` over `range`/`numba.prange` (in order), over an array or a tuple (`for x in a`,
  `for row in M`), `enumerate(a[, start])`, `zip(a, b, ...)`, `np.ndindex(shape)`,
  `np.ndenumerate(a)` and `a.flat`; `while`; `break`, `continue`, early `return`; nested
  loops with trip counts known only at run time;
- scalars and arrays overwritten, rebound (`h = hn`), made inside loops and branches, rows and
  slices taken in loops and passed to functions (`helper(params[k], x)`), whole-array
  expressions and slice stores in time loops, in-place operators on arrays (`w -= ...`);
- indexing by integers, tuples of integers (`a[i]` with `i` from `np.ndindex`), slices, `None`/`np.newaxis`, a boolean mask or an integer array
  (reads), stores through a boolean mask of a vector (`x[x < 0] = 0`; reverse mode refuses
  stores through an index array, where a repeated index is written once);
- calls to Python and `numba.njit` functions, with keyword arguments and defaults (numbers),
  keyword-only parameters; a function returning a tuple it builds (`return call, put`);
  lambdas bound once to a name and called (`f = lambda x: ...`; inlined at each call);
- lists of numbers made in the function: `L = []` and `L.append(v)` (under conditions too),
  list comprehensions and generator expressions (`sum(v * v for v in a)`), read through
  `len`, indexing (negative too), element stores, loops, `sum(...)`, `np.sum(...)` and
  `np.array(...)`;
- tuples built once and read by constant index; `np.array([...])` of scalars;
  `np.concatenate`, `np.hstack`, `np.vstack`, `np.stack` and `np.column_stack` of a tuple of
  float64 arrays of one rank (a constant `axis`);
- a name bound to a view, then to a new array (each binding read only up to the next);
- square roots of zero and other infinite partials masked out downstream (`np.triu`,
  `np.where`): an exactly zero tangent or cotangent times an infinite partial is zero;
- `@numba.vectorize` functions (on scalars, or with one array argument) and `@numba.stencil`
  functions (integer relative indices; `out=`), also `numba.stencil(lambda ...)(A, c)` inside
  a function, and `@numba.guvectorize` functions called on arguments of their core ranks
  (`f(a, w)` for `(n),()->(n)`), through their Python source;
- second order: `hvp` (forward over reverse) on loops and on whole-array NumPy code;
  `autodiff_deferred`/`autodiff` called inside a differentiated function (Forward, or
  Reverse as a statement into `Duplicated` arrays' shadows; computed by forward sweeps
  there, so the outer pass needs no tape of a tape);
- custom rules (`adtriad.ad_core.rules`) for anything else.

Refused with an `ADError` at the user's `file:line:col` (never differentiated as zero):

- an active value reaching a list other than those above (a list of arrays, a list passed
  to a function or returned), a tuple read by a variable index, an object, or a library
  call made for its effect on an array; method calls as statements (`a.fill(v)`) other
  than a list's `append`;
- reverse mode: a view of an array that is read after that array is written (take a copy),
  or an array written through an alias that is rebound in a loop;
- `*args`/`**kwargs` parameters, recursion, generators, `try`, `with`, dict and set
  comprehensions, f-strings; `Active` arguments of a nested differentiation call;
- `@guvectorize` functions given loop dimensions, several outputs or an `out` argument,
  vectorized calls broadcasting several arrays, and NumPy functions with no rule (below).
"""


def markdown() -> str:
    lines = ["# What adtriad differentiates", "",
             "Generated from the rule registry (`ad_core/derivatives.py`) by "
             "`python -m adtriad.ad_core.coverage`.", "", CONSTRUCTS, "## Rules", ""]
    for shape, title in SHAPE_TITLES.items():
        keys = sorted(k for k in derivatives.of_shape(shape) if not k.startswith("_prim."))
        lines += [f"### {title}", "", ", ".join(f"`{k}`" for k in keys), ""]
    lines += ["## NumPy functions with no rule yet (refused when an argument is active)", "",
              ", ".join(f"`{k}`" for k in derivatives.NO_RULE), "",
              "## Integer or boolean results (zero derivative, never active)", "",
              ", ".join(f"`{k}`" for k in sorted(derivatives.NOT_DIFFERENTIABLE)), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
