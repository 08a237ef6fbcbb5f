"""adtriad.agents.fuzz: the triad as an AD fuzzer.

Contract: :mod:`~adtriad.agents.fuzz.generator` writes random programs in the subset the engine
claims, from a seed; :mod:`~adtriad.agents.fuzz.dual` is an exact oracle for their directional
derivatives (dual numbers, sharing no code with the engine); :mod:`~adtriad.agents.fuzz.check`
differentiates a program with the engine in each mode and classifies the result against the
oracle, with finite differences as referee. Importing this package starts nothing.
"""
