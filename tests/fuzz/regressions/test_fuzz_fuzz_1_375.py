"""A program the fuzzer found: program 375 of `triad fuzz --seed 1`, wrong: Reverse: wrong: the result: engine np.float64(3.5340691518210927), oracle np.float64(3.6358795149818874)

Shrunk by adtriad.agents.fuzz.shrink; checked against the dual-number oracle in Reverse, Forward.
"""

from adtriad.agents.fuzz.check import check_program
from adtriad.agents.fuzz.generator import Program

SOURCE = 'import math\nimport numba\nimport numpy as np\n\n\ndef f(x, a, n):\n    t = a[n]\n    t = t\n    return t\n'

PROGRAM = Program(SOURCE, ('x',), (('a', 5),), ('n',), (0,),
                  9357, inputs=None)


def test_the_engine_is_right_or_refuses():
    verdict = check_program(PROGRAM, modes=('Reverse', 'Forward'))
    assert verdict.status in ("ok", "refused", "nondiff"), verdict.detail
