"""Public Numba code, as its authors wrote it, for measuring what the engine differentiates.

One module per source:

``npbench``
    NPBench's Numba kernels (spcl/npbench ``npbench/benchmarks/**/*_numba_n.py``,
    ``_numba_np.py``, ``_numba_npr.py``): PolyBench linear algebra and stencils, n-body, deep
    learning layers, weather stencils, CFD.
``numba_examples``
    numba/numba-examples (``examples/`` and ``legacy/``): Black-Scholes, kernel density
    estimation, Lennard-Jones, Jacobi relaxation, regressions, image filters, a wave stencil,
    ufuncs and gufuncs.
``numba_docs``
    the examples of Numba's documentation (numba/numba ``docs/source/user/*.rst`` and
    ``numba/tests/doc_examples``).
``gradbench``
    the GradBench evals (gradbench/gradbench), which have no Numba implementation there:
    written in this module the way a Numba user would write them.

Each module has ``ENTRIES``, a list of :class:`Entry`; :func:`entries` gives all of them by
name (names are unique across modules) with ``group`` set to the module's name. The harness
is ``tests/realworld/numba_corpus_harness.py``.
"""

from __future__ import annotations

from . import gradbench, npbench, numba_docs, numba_examples
from .entry import Entry

MODULES = (npbench, numba_examples, numba_docs, gradbench)
GROUPS = tuple(m.__name__.rsplit(".", 1)[-1] for m in MODULES)


def entries() -> dict[str, Entry]:
    """Every entry of the corpus by name, in module order."""
    out: dict[str, Entry] = {}
    for module, group in zip(MODULES, GROUPS):
        for e in module.ENTRIES:
            if e.name in out:
                raise ValueError(f"duplicate corpus entry name {e.name!r} ({group} and {out[e.name].group})")
            e.group = group
            out[e.name] = e
    return out


__all__ = ["Entry", "GROUPS", "MODULES", "entries"]
