"""Forward mode: a tangent statement beside each active primal statement.

Contract: :func:`generate` returns the source of ``NAME(params..., tangents...)`` for a
:class:`~adtriad.ad_core.build.Spec`: the tangent parameters follow the primal ones, one per
active parameter, in order. It returns ``(result, tangent_of_result)`` (``None`` for a
function returning nothing) and writes the tangents of the arrays it writes into their
shadow arrays. Control flow is kept as it is: no tape is needed.
"""

from __future__ import annotations

from adtriad.ad_core import derivatives, ir, naming
from adtriad.ad_core.emit import Emitter, atom_type, elementwise_key, no_rule, partials, zero_of
from adtriad.ad_core.errors import ADError
from adtriad.ad_core.typeinfer import is_array, is_float


def generate(spec, builder) -> str:
    gen = _Forward(spec, builder)
    return gen.run()


class _Forward:
    def __init__(self, spec, builder):
        self.spec = spec
        self.nf = spec.nf
        self.ti = spec.ti
        self.active = spec.active
        self.builder = builder
        self.out = Emitter()

    def dot(self, a) -> str | None:
        """Tangent source of an atom, or None when it is inactive."""
        if isinstance(a, ir.Name) and a.id in self.active:
            return naming.tangent(a.id)
        return None

    def run(self) -> str:
        params = list(self.nf.params)
        tparams = [naming.tangent(p) for p in params if p in self.spec.active_params]
        head = f"def {self.spec.fname}({', '.join(params + tparams)}):"
        for name in sorted(self.active):
            if name not in self.nf.params and is_float(self.ti.of(name)):
                self.out(f"{naming.tangent(name)} = {zero_of(self.ti.of(name))}")
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
                d = self.dot(s.value) or "0.0"
                out(f"{naming.tangent(s.target)}[{idx}] = {d}", s.loc)
        elif isinstance(s, ir.ExprStmt):
            call = s.value
            if call.fn.key == "user" and self.call_is_active(call):
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
            if s.value is None:
                out("return None", s.loc)
            else:
                rt = self.ti.restype
                d = self.dot(s.value) or (zero_of(rt) if not is_array(rt)
                                          else f"np.zeros_like({ir.atom_src(s.value)})")
                out(f"return {ir.atom_src(s.value)}, {d}", s.loc)
        else:  # pragma: no cover - the normalizer emits nothing else
            raise TypeError(s)

    def call_is_active(self, call) -> bool:
        return any(isinstance(a, ir.Name) and a.id in self.active for a in call.args)

    def user_call(self, call, target: str | None = None) -> str:
        callee = self.builder.request(call, self.spec, "tangent")
        args = [ir.atom_src(a) for a in call.args]
        dots = [naming.tangent(a.id) for a, act in zip(call.args, callee.active_mask) if act]
        text = f"{callee.fname}({', '.join(args + dots)})"
        if target is None:
            return text
        if callee.returns_none:
            return f"{text}; {target} = None"
        if target in self.active:
            return f"{target}, {naming.tangent(target)} = {text}"
        return f"{target}, {naming.PREFIX}_unused = {text}"

    def assign(self, s: ir.Assign) -> None:
        out, t, e = self.out, s.target, s.value
        if s.inplace and is_array(self.ti.of(t)):
            raise ADError(f"{s.loc}: in-place `{t} op= ...` on an array is not supported yet; "
                          "write a loop over its elements")
        if isinstance(e, ir.Call) and e.fn.key == "user":
            if self.call_is_active(e):
                out(self.user_call(e, t), s.loc)
            else:
                out(f"{t} = {ir.expr_src(e)}", s.loc)
                if t in self.active:
                    out(f"{naming.tangent(t)} = {zero_of(self.ti.of(t))}", s.loc)
            return
        out(f"{t} = {ir.expr_src(e)}", s.loc)
        if t not in self.active:
            return
        dt = naming.tangent(t)
        tt = self.ti.of(t)
        zero = f"np.zeros_like({t})" if is_array(tt) else zero_of(tt)
        names_active = any(n in self.active for n in ir.expr_names(e))
        if isinstance(e, ir.Call) and e.fn.key in derivatives.CREATION:
            out(f"{dt} = np.zeros_like({t})", s.loc)
        elif not names_active:
            out(f"{dt} = {zero}", s.loc)
        elif isinstance(e, ir.Name):
            out(f"{dt} = {self.dot(e)}", s.loc)
        elif isinstance(e, ir.Index):
            out(f"{dt} = {naming.tangent(e.value.id)}[{ir.index_src(e.index)}]", s.loc)
        elif isinstance(e, ir.Attr) and e.attr == "T":
            out(f"{dt} = {naming.tangent(e.value.id)}.T", s.loc)
        elif isinstance(e, ir.Method) and (e.method in derivatives.METHOD_VIEWS or (
                e.method in derivatives.METHODS_LINEAR and not e.args)):
            args = ", ".join(ir.atom_src(a) for a in e.args)
            out(f"{dt} = {naming.tangent(e.obj.id)}.{e.method}({args})", s.loc)
        elif isinstance(e, ir.Call) and (e.fn.key in derivatives.LINEAR
                                         or e.fn.key in derivatives.VIEWS):
            out(f"{dt} = {self.linear(e)}", s.loc)
        elif isinstance(e, ir.Call) and e.fn.key in derivatives.EXTREMA and len(e.args) == 1 \
                and not e.kwargs:
            (a,) = e.args
            out(f"{dt} = {self.dot(a)}.flat[{derivatives.EXTREMA[e.fn.key]}({ir.atom_src(a)})]",
                s.loc)
        elif (isinstance(e, ir.BinOp) and e.op == "@") or \
                (isinstance(e, ir.Call) and e.fn.key == "np.dot" and not e.kwargs):
            a, b = (e.left, e.right) if isinstance(e, ir.BinOp) else e.args
            terms = []
            if self.dot(a):
                terms.append(f"np.dot({self.dot(a)}, {ir.atom_src(b)})")
            if self.dot(b):
                terms.append(f"np.dot({ir.atom_src(a)}, {self.dot(b)})")
            out(f"{dt} = {' + '.join(terms)}", s.loc)
        elif elementwise_key(e) is not None:
            terms = [f"({p}) * {naming.tangent(name)}" if p not in ("1", "-1")
                     else ("" if p == "1" else "-") + naming.tangent(name)
                     for name, p in partials(e, t, self.ti, self.active, s.loc)]
            out(f"{dt} = {' + '.join(terms) if terms else zero}", s.loc)
        else:
            raise no_rule(e, s.loc)

    def linear(self, e: ir.Call) -> str:
        if e.fn.key == "np.array":
            (lst,) = e.args
            elts = [self.dot(a) or "0.0" for a in lst.elts]
            return f"np.array([{', '.join(elts)}])"
        args = [self.dot(a) or ir.atom_src(a) if k == 0 else ir.atom_src(a)
                for k, a in enumerate(e.args)]
        kwargs = [f"{k}={ir.atom_src(v)}" for k, v in e.kwargs.items()]
        return f"{e.fn.text}({', '.join(args + kwargs)})"
