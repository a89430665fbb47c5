"""An accelerated exact proof through symengine (sympy's C++ core, the optional ``fast`` extra).

The time of the weight-by-weight proof is almost all ``sympy.diff`` of E. Here E and the recurrence's
entries are carried over to symengine once (memoized: shared subexpressions are converted once), E is
differentiated there, and each difference is expanded there: zero means proven, exactly as in sympy. The
activations become symengine's undefined functions (opaque atoms). ∂E/∂w is carried through E's graph by
the chain rule (:mod:`gradproof.derive.symbolic.chain`, only the nodes that depend on w), every function
by the same hand-written rule sympy differentiates by (its class's ``fdiff``); a weight the chain rule
does not cover is differentiated by ``se.diff``, whose ``Subs(Derivative(f(ξ), ξ), ξ, z)`` are replaced
by those rules. A difference symengine cannot reduce to zero (a quotient, from bce
or softmax-ce, or a real mistake) is handed back to sympy's decision and counterexample search, so the
verdicts are sympy's: the two backends give identical results.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.core.function import AppliedUndef

from gradproof.derive.errors import InputError
from gradproof.derive.symbolic import chain
from gradproof.derive.symbolic.walk import post_order

try:
    import symengine as se
except ImportError:  # optional
    se = None


def available() -> bool:
    return se is not None


def require() -> None:
    if se is None:
        raise InputError("--backend symengine needs symengine: pip install 'gradproof[fast]'")


class Converter:
    """sympy → symengine, each distinct subexpression once."""

    def __init__(self):
        self.cache: dict = {}
        self.templates: dict = {}
        self.functions: dict = {}
        self.symbols: dict = {}
        self.bases: dict = {}

    def __call__(self, expr):
        return post_order(expr, self.cache, self._convert)

    def _convert(self, node):
        if node.is_Symbol:
            self.symbols[node.name] = node
            return se.Symbol(node.name)
        if node.is_Number:
            return se.sympify(node)
        args = [self.cache[arg] for arg in node.args]
        if node.is_Add:
            return se.Add(*args)
        if node.is_Mul:
            return se.Mul(*args)
        if node.is_Pow:
            return se.Pow(*args)
        if isinstance(node, sp.Function):
            name = node.func.__name__
            self.functions[name] = node.func
            return se.Function(name)(*args)
        raise InputError(f"the symengine backend cannot carry {type(node).__name__} over: use --backend sympy")

    def rule(self, name: str, argument):
        """The derivative of the function called ``name`` at ``argument``, by its class's ``fdiff``."""
        if name not in self.templates:
            dummy = sp.Dummy("t")
            self.templates[name] = (self(dummy), self(self.functions[name](dummy).fdiff(1)))
        dummy, rule = self.templates[name]
        return rule.subs({dummy: argument})

    def differentiate(self, expr, variable):
        """d expr/d variable, with every derivative of a function replaced by its rule."""
        derivative = se.diff(expr, variable)
        rules = {}
        for subs in derivative.atoms(se.Subs):  # Subs(Derivative(f(ξ), ξ), ξ, z)
            function, point = subs.args[0].args[0], subs.args[2]
            rules[subs] = self.rule(function.get_name(), point)
        return derivative.xreplace(rules) if rules else derivative


    def base_back(self, base) -> sp.Expr:
        """:meth:`back` of a denominator's base, each base once."""
        if base not in self.bases:
            self.bases[base] = self.back(base)
        return self.bases[base]

    def back(self, expr) -> sp.Expr:
        """symengine → sympy, with gradproof's own symbols and function classes restored."""
        plain = sp.sympify(expr)
        plain = plain.xreplace({s: self.symbols[s.name] for s in plain.free_symbols if s.name in self.symbols})
        return plain.replace(lambda node: isinstance(node, AppliedUndef) and node.func.__name__ in self.functions,
                             lambda node: self.functions[node.func.__name__](*node.args))


class Algebra:
    """The chain rule's derivatives (:mod:`gradproof.derive.symbolic.chain`) as symengine expressions, every
    function's derivative by its class's ``fdiff`` (:meth:`Converter.rule`)."""

    def __init__(self, convert: Converter):
        self.convert = convert
        self.zero, self.one = se.Integer(0), se.Integer(1)
        self.rules: dict = {}

    def value(self, node):
        return self.convert(node)

    def add(self, terms: list):
        return se.Add(*terms)

    def mul(self, factors: list):
        return se.Mul(*factors)

    def power_rule(self, base, exponent):
        return se.Mul(self.convert(exponent), se.Pow(self.convert(base), self.convert(exponent - 1)))

    def rule(self, node):
        if node not in self.rules:
            self.rules[node] = self.convert.rule(node.func.__name__, self.convert(node.args[0]))
        return self.rules[node]


class Differentiated:
    """∂E/∂w for every weight, in symengine, computed before any claim is known (so before the user's
    code runs); :meth:`settle` then expands each difference with a claimed entry there."""

    def __init__(self, error: sp.Expr, weights, divides: Callable[[sp.Expr], bool]):
        require()
        self.convert = Converter()
        e = self.convert(error)
        by_rule = chain.ChainRule(error, Algebra(self.convert))
        by_chain = by_rule.derivatives(weights)
        self.derivatives = tuple(self.convert.differentiate(e, self.convert(w)) if d is None else d
                                 for d, w in zip(by_chain, weights))
        # ∂E/∂w can have a denominator only if E divides, takes a log, has a fractional power, or a rule
        # divides
        rules = [self.convert.back(rule) for _, rule in self.convert.templates.values()]
        nodes = by_rule.graph.nodes
        self.fractions = divides(error) or any(isinstance(n, sp.log) or (n.is_Pow and not n.exp.is_Integer)
                                               for n in nodes) or any(divides(rule) for rule in rules)

    def settle(self, claimed, bases_of: Callable[[sp.Expr], list], positive: Callable[[sp.Expr], frozenset | None]
               ) -> list:
        """Per weight: None where d − c is zero in symengine and every denominator of either side is a base
        ``positive`` accepts (it returns the ranges the positivity rests on, gathered in ``self.ranges``, or
        None); otherwise ∂E/∂w in sympy, for sympy's decision. ``bases_of``: the claimed entry's
        denominators, in sympy."""
        self.ranges: set = set()
        return [None if self._settles(d, c, bases_of, positive) else self.convert.back(d)
                for d, c in zip(self.derivatives, claimed)]

    def _settles(self, d, c, bases_of, positive) -> bool:
        ranges: set = set()
        settled = self._zero(d, c, bases_of, positive, ranges)
        if settled:  # the ranges of a proven entry only, as the Judge states them
            self.ranges |= ranges
        return settled

    def _zero(self, d, c, bases_of, positive, ranges: set) -> bool:
        claimed_bases = bases_of(c)
        if not _all_positive(claimed_bases, positive, ranges):
            return False
        try:
            difference = d - self.convert(c)
        except InputError:  # a claimed entry symengine cannot carry: sympy decides it
            return False
        if se.expand(difference) == 0:
            return not self.fractions or _all_positive([self.convert.base_back(b) for b in _negative_bases(d)],
                                                       positive, ranges)
        if not (self.fractions or claimed_bases):
            return False
        denominators = _negative_bases(difference)
        return bool(denominators) and _numerator_is_zero(difference, denominators) and _all_positive(
            [self.convert.base_back(b) for b in denominators], positive, ranges)


def _all_positive(bases, positive, ranges: set) -> bool:
    for base in bases:
        used = positive(base)
        if used is None:
            return False
        ranges |= used
    return True


def _numerator_is_zero(difference, denominators: list) -> bool:
    """Whether ``difference`` times the highest power of each of its ``denominators`` (bases of negative
    integer powers) expands to zero, each base kept a symbol until its powers have cancelled: then
    ``difference`` is zero wherever the denominators are not (a quotient such as a softmax's, which
    expands to a polynomial only once Σ e^z and its inverse meet)."""
    symbols = {base: se.Dummy(f"b{k}") for k, base in enumerate(denominators)}
    replaced = difference.xreplace(symbols)
    highest, kept = {}, set(symbols.values())
    for power in _powers(replaced):
        base, exponent = power.args
        if base in kept:
            if not exponent.is_integer:
                return False
            highest[base] = max(highest.get(base, 0), -int(exponent))
    cleared = se.expand(replaced * se.Mul(*[base ** n for base, n in highest.items()]))
    return se.expand(cleared.xreplace({symbol: base for base, symbol in symbols.items()})) == 0


def _powers(expr) -> list:
    """Every power in ``expr``, each shared subexpression looked into once (``atoms`` walks the tree)."""
    seen, stack, found = {expr}, [expr], []
    while stack:
        node = stack.pop()
        if isinstance(node, se.Pow):
            found.append(node)
        for arg in node.args:
            if arg not in seen:
                seen.add(arg)
                stack.append(arg)
    return found


def _negative_bases(expr) -> list:
    return list(dict.fromkeys(power.args[0] for power in _powers(expr)
                              if power.args[1].is_number and power.args[1] < 0))
