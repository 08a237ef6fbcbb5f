"""Forward mode: tangent statements beside each active primal statement.

Contract: :func:`generate` returns the source of ``NAME(params..., tangents...)`` for a
:class:`~adtriad.ad_core.build.Spec` of width W (W > 1 for batch mode): after the primal
parameters come, for each active parameter in order, its W tangents (one per lane). The
function returns ``(result, tangent_lane_0, ..., tangent_lane_W-1)`` (``result`` None for a
function returning nothing; zero tangents when the result is inactive) and writes the tangents
of the arrays it writes into their shadow arrays. Control flow is kept as it is; no tape.
"""

from __future__ import annotations

from adtriad.ad_core import derivatives, ir, naming, rule_calls, rules
from adtriad.ad_core.emit import (Emitter, applied_to, atom_type, no_rule, partials,
                                  zero_of)
from adtriad.ad_core.errors import ADError
from adtriad.ad_core.typeinfer import is_array, is_float


def generate(spec, builder) -> str:
    return _Forward(spec, builder).run()


class _Forward:
    def __init__(self, spec, builder):
        self.spec = spec
        self.nf = spec.nf
        self.ti = spec.ti
        self.active = spec.active
        self.builder = builder
        self.out = Emitter()
        self.lanes = range(spec.width)
        self.lane = 0

    def T(self, name: str, lane: int | None = None) -> str:
        """The tangent of ``name`` in the current (or given) lane."""
        lane = self.lane if lane is None else lane
        return naming.tangent(name, lane if self.spec.width > 1 else None)

    def dot(self, a) -> str | None:
        """Tangent source of an atom, or None when it is inactive."""
        if isinstance(a, ir.Name) and a.id in self.active:
            return self.T(a.id)
        return None

    def run(self) -> str:
        params = list(self.nf.params)
        tparams = [self.T(p, k) for p in params if p in self.spec.active_params
                   for k in self.lanes]
        head = f"def {self.spec.fname}({', '.join(params + tparams)}):"
        for name in sorted(self.active):
            if name not in self.spec.active_params and is_float(self.ti.of(name)):
                for k in self.lanes:
                    self.out(f"{self.T(name, k)} = {zero_of(self.ti.of(name))}")
        self.block(self.nf.body)
        return "\n".join([head] + self.out.lines)

    def block(self, stmts) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, s) -> None:
        out = self.out
        if isinstance(s, ir.Assign):
            self.assign(s)
        elif isinstance(s, ir.Store):
            idx = ir.index_src(s.index)
            out(f"{s.target}[{idx}] = {ir.atom_src(s.value)}", s.loc)
            if s.target in self.active:
                for self.lane in self.lanes:
                    out(f"{self.T(s.target)}[{idx}] = {self.dot(s.value) or '0.0'}", s.loc)
        elif isinstance(s, ir.ExprStmt):
            call = s.value
            if call.fn.key == "rule" and self.call_is_active(call):
                self.rule_call(call, None, s.loc)
            elif call.fn.key == "user" and self.call_is_active(call):
                out(self.user_call(call), s.loc)
            else:
                out(ir.expr_src(call), s.loc)
        elif isinstance(s, ir.If):
            out(f"if {ir.atom_src(s.test)}:", s.loc)
            with out.indent():
                self.block(s.body)
            if s.orelse:
                out("else:")
                with out.indent():
                    self.block(s.orelse)
        elif isinstance(s, ir.For):
            rng = f"range({ir.atom_src(s.start)}, {ir.atom_src(s.stop)}, {ir.atom_src(s.step)})"
            out(f"for {s.var} in {rng}:", s.loc)
            with out.indent():
                self.block(s.body)
                if s.exit_flag:
                    out(f"if {s.exit_flag}:")
                    out("    break")
        elif isinstance(s, ir.While):
            out("while True:", s.loc)
            with out.indent():
                self.block(s.body)
                out(f"if {s.exit_flag}:")
                out("    break")
        elif isinstance(s, ir.Return):
            self.ret(s)
        else:  # pragma: no cover - the normalizer emits nothing else
            raise TypeError(s)

    def ret(self, s: ir.Return) -> None:
        if s.value is None:
            self.out("return None", s.loc)
            return
        rt = self.ti.restype
        zero = f"np.zeros_like({ir.atom_src(s.value)})" if is_array(rt) else zero_of(rt)
        dots = []
        for self.lane in self.lanes:
            dots.append(self.dot(s.value) or zero)
        self.out(f"return {', '.join([ir.atom_src(s.value)] + dots)}", s.loc)

    def call_is_active(self, call) -> bool:
        """Is the call differentiated? Also when the callee reads hidden parameters: only its
        generated code takes them."""
        return call.fn.text in self.nf.hidden_callees or \
            any(isinstance(a, ir.Name) and a.id in self.active for a in call.args)

    def user_call(self, call, target: str | None = None) -> str:
        callee = self.builder.request(call, self.spec, "tangent")
        args = [ir.atom_src(a) for a in call.args]
        dots = [self.T(a.id, k) for a, act in zip(call.args, callee.active_mask) if act
                for k in self.lanes]
        text = f"{callee.fname}({', '.join(args + dots)})"
        if target is None:
            return text
        if callee.returns_none:
            return f"{text}; {target} = None"
        if target in self.active:
            return f"{', '.join([target] + [self.T(target, k) for k in self.lanes])} = {text}"
        unused = [f"{naming.PREFIX}_unused{k}" for k in self.lanes]
        return f"{', '.join([target] + unused)} = {text}"

    def rule_call(self, call, target: str | None, loc) -> None:
        """A call to a function with custom rules: its forward rule (or imported frule) gives
        the primal and the tangent, lane by lane."""
        rs = rules.lookup(call.fn.obj)
        argtypes = [atom_type(a, self.ti) for a in call.args]
        active = [isinstance(a, ir.Name) and a.id in self.active for a in call.args]
        srcs = [ir.atom_src(a) for a in call.args]
        res = naming.PREFIX + "_rule_result"
        if rs.forward is not None:
            rule_calls.check_forward(rs, argtypes, active, self.ti.restype)
            name = self.builder.rule(rs, "forward")
        elif rs.frule is not None:
            rule_calls.check_frule(rs, argtypes, active)
            name = self.builder.rule(rs, "frule")
        else:
            raise ADError(f"{loc}: {rs.name} has custom rules but no forward rule; register "
                          "one with @rules.forward or rules.import_frule")
        for self.lane in self.lanes:
            if rs.forward is not None:
                anns = [f"_ad_Duplicated({x}, {self.T(a.id)})" if act else f"_ad_Const({x})"
                        for x, a, act in zip(srcs, call.args, active)]
                self.out(f"{res} = {name}({rule_calls.config_src(rs.nargs)}, {call.fn.text}, "
                         f"{rule_calls.ret_src('Duplicated')}, {', '.join(anns)})", loc)
                primal, tangent = f"{res}.val", f"{res}.dval"
            else:
                dots = ["0.0"] + [self.T(a.id) if act else
                                  (f"np.zeros_like({x})" if is_array(t) else "0.0")
                                  for x, a, act, t in zip(srcs, call.args, active, argtypes)]
                self.out(f"{res} = {name}(({', '.join(dots)},), {', '.join(srcs)})", loc)
                primal, tangent = f"{res}[0]", f"{res}[1]"
            if target is not None and self.lane == 0:
                self.out(f"{target} = {primal}", loc)
            if target is not None and target in self.active:
                self.out(f"{self.T(target)} = {tangent}", loc)

    def assign(self, s: ir.Assign) -> None:
        out, t, e = self.out, s.target, s.value
        if s.inplace and is_array(self.ti.of(t)):
            raise ADError(f"{s.loc}: in-place `{t} op= ...` on an array is not supported yet; "
                          "write a loop over its elements")
        if isinstance(e, ir.Call) and e.fn.key == "user" and self.call_is_active(e):
            out(self.user_call(e, t), s.loc)
            return
        if isinstance(e, ir.Call) and e.fn.key == "rule" and self.call_is_active(e):
            self.rule_call(e, t, s.loc)
            return
        out(f"{t} = {ir.expr_src(e)}", s.loc)
        if t in self.active:
            for self.lane in self.lanes:
                out(f"{self.T(t)} = {self.tangent_of(s)}", s.loc)

    def tangent_of(self, s: ir.Assign) -> str:
        """The tangent expression of an active assignment, in the current lane."""
        t, e = s.target, s.value
        tt = self.ti.of(t)
        zero = f"np.zeros_like({t})" if is_array(tt) else zero_of(tt)
        if not any(n in self.active for n in ir.expr_names(e)):
            return zero
        if isinstance(e, ir.Name):
            return self.dot(e)
        if isinstance(e, ir.Index):
            return f"{self.T(e.value.id)}[{ir.index_src(e.index)}]"
        rule = derivatives.lookup(e)
        if rule is None or rule.shape == "custom":
            raise no_rule(e, s.loc)
        return getattr(self, "tangent_" + rule.shape)(s, e, rule, zero)

    # one method per rule shape (derivatives.SHAPES)
    def tangent_elementwise(self, s, e, rule, zero) -> str:
        terms = [term for _, term in partials(e, rule, s.target, self.ti, self.active, s.loc,
                                              self.T)]
        return " + ".join(terms) if terms else zero

    def tangent_linear(self, s, e, rule, zero) -> str:
        if isinstance(e, ir.Call) and e.fn.key == "np.array" and isinstance(e.args[0], ir.ListExpr):
            elts = [self.dot(a) or "0.0" for a in e.args[0].elts]
            return f"np.array([{', '.join(elts)}])"
        first = ir.operands(e)[0]
        if not (isinstance(first, ir.Name) and first.id in self.active):
            raise no_rule(e, s.loc)  # active only in an argument the map is not linear in
        return applied_to(e, self.T(first.id))

    tangent_reduction = tangent_view = tangent_linear

    def tangent_primitive(self, s, e, rule, zero) -> str:
        ops = ir.operands(e)
        if (isinstance(e, ir.Call) and e.kwargs) or len(ops) not in rule.arity:
            raise no_rule(e, s.loc)
        srcs = [ir.atom_src(a) for a in ops]
        terms = []
        for a, template in zip(ops, rule.tangents):
            if self.dot(a):
                if template is None:
                    raise no_rule(e, s.loc)
                terms.append(f"({derivatives.primitive_term(template, srcs, z=s.target, t=self.dot(a))})")
        return " + ".join(terms) if terms else zero

    def tangent_creation(self, s, e, rule, zero) -> str:
        return f"np.zeros_like({s.target})"

    def tangent_extrema(self, s, e, rule, zero) -> str:
        (a, *rest) = ir.operands(e)
        if rest or (isinstance(e, ir.Call) and e.kwargs):
            raise no_rule(e, s.loc)
        at = f"{rule.arg}({ir.atom_src(a)})"
        if self.ti.of(a.id).ndim > 1:
            at = f"_prim.unravel({at}, {ir.atom_src(a)}.shape)"
        return f"{self.dot(a)}[{at}]"

    def tangent_product(self, s, e, rule, zero) -> str:
        if isinstance(e, ir.Call) and e.kwargs:
            raise no_rule(e, s.loc)
        a, b = ir.operands(e)
        terms = []
        if self.dot(a):
            terms.append(f"np.dot({self.dot(a)}, {ir.atom_src(b)})")
        if self.dot(b):
            terms.append(f"np.dot({ir.atom_src(a)}, {self.dot(b)})")
        return " + ".join(terms)
