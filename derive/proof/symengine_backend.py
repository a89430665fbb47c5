"""An accelerated exact proof through symengine (sympy's C++ core, the optional ``fast`` extra): the
exact method's backend by default where it is installed (``auto``, :func:`~gradproof.derive.proof.exact.choose_backend`).

The time of the weight-by-weight proof is almost all ``sympy.diff`` of E. Here E and the recurrence's
entries are carried over to symengine once (memoized: shared subexpressions are converted once), E is
differentiated there, and each difference is expanded there: zero means proven, exactly as in sympy. The
activations become symengine's undefined functions (opaque atoms), each sympy class and each symbol under
a name of its own (symengine tells them apart by name only). ∂E/∂w is carried through E's graph by
the chain rule (:mod:`gradproof.derive.symbolic.chain`, only the nodes that depend on w), every function
by the same hand-written rule sympy differentiates by (its class's ``fdiff``); a weight the chain rule
does not cover is differentiated by ``se.diff``, whose ``Subs(Derivative(f(ξ), ξ), ξ, z)`` are replaced
by those rules, or, where ``sympy.diff`` has another rule for f (Abs, sign), by ``sympy.diff``. What
symengine cannot carry (a Piecewise, Max, Min, a Float) raises :class:`CannotCarry` in E, and leaves a
claimed entry to sympy. A difference symengine cannot reduce to zero (a quotient, from bce or
softmax-ce, or a real mistake) is handed back to sympy's decision and counterexample search, so the
verdicts are sympy's: the two backends give identical results. symengine rewrites roots as if their bases
were positive ((1/X)^(1/2) = X^(−1/2), √(1/x)·x = √x), so an entry with a root (or a power with a
non-integer exponent) whose base the decision does not show positive, in it or in E, is left to sympy.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from gradproof.derive.errors import InputError
from gradproof.derive.proof.domains import root_bases
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


class CannotCarry(InputError):
    """A node of E symengine cannot carry over (a Piecewise, Max, Min, a Float): ``auto`` hands the network
    to sympy, ``--backend symengine`` says so in one line."""

    def __init__(self, node):
        self.what = type(node).__name__
        super().__init__(f"the symengine backend cannot carry {self.what} over: use --backend sympy "
                         "(or auto, the default, which falls back to sympy)")


class Converter:
    """sympy → symengine, each distinct subexpression once. symengine tells functions and symbols apart by
    name only, so each sympy class (a user's activation called ``sech`` beside sympy's ``sech``) and each
    symbol (two Dummies called ``t``) gets a name of its own; constants such as π become opaque symbols."""

    def __init__(self):
        self.cache: dict = {}
        self.templates: dict = {}
        self.functions: dict = {}   # symengine name → sympy function class
        self.symbols: dict = {}     # symengine name → sympy symbol or constant
        self.names: dict = {}       # sympy class, symbol or constant → its symengine name
        self.bases: dict = {}
        self.returned: dict = {}    # symengine → sympy, each subexpression once

    def __call__(self, expr):
        return post_order(expr, self.cache, self._convert, _carried_arguments)

    def _convert(self, node):
        if node.is_Symbol or node.is_NumberSymbol:
            return se.Symbol(self.name(node, self.symbols, node.name if node.is_Symbol else str(node)))
        if node.is_Rational:  # a Float would be rounded in symengine's arithmetic: sympy takes it
            return se.sympify(node)
        if not node.args or not _carried_arguments(node):
            raise CannotCarry(node)
        args = [self.cache[arg] for arg in node.args]
        if node.is_Add:
            return se.Add(*args)
        if node.is_Mul:
            return se.Mul(*args)
        if node.is_Pow:
            return se.Pow(*args)
        return se.Function(self.name(node.func, self.functions, node.func.__name__))(*args)

    def name(self, key, table: dict, wanted: str) -> str:
        """``key``'s symengine name: ``wanted``, with ``_`` appended while another key has it."""
        if key not in self.names:
            while wanted in table:
                wanted += "_"
            self.names[key], table[wanted] = wanted, key
        return self.names[key]

    def rule(self, name: str, argument):
        """The derivative of the function called ``name`` at ``argument`` (symengine): ``fdiff`` called on
        the node itself, as ``sympy.diff`` calls it (a rule may look at its argument's form or assumptions,
        so a rule taken once at a stand-in symbol is not the rule at every node)."""
        return self.node_rule(self.functions[name](self.back(argument)))

    def node_rule(self, node: sp.Expr):
        """``node.fdiff(1)`` in symengine, each distinct node once."""
        if node not in self.templates:
            self.templates[node] = self(node.fdiff(1))
        return self.templates[node]

    def differentiate(self, expr, variable):
        """d expr/d variable, with every derivative of a function replaced by its rule; None where a
        function on the way is one ``sympy.diff`` does not differentiate by its ``fdiff`` (Abs, sign), or
        takes several arguments: sympy differentiates that weight."""
        derivative = se.diff(expr, variable)
        rules = {}
        for subs in derivative.atoms(se.Subs):  # Subs(Derivative(f(ξ), ξ), ξ, z)
            function, point = subs.args[0].args[0], subs.args[2]
            cls = self.functions.get(function.get_name())
            if cls is None or len(function.args) != 1 or not chain.by_fdiff(cls):
                return None
            rules[subs] = self.rule(function.get_name(), point)
        return derivative.xreplace(rules) if rules else derivative

    def base_back(self, base) -> sp.Expr:
        """:meth:`back` of a denominator's base, each base once."""
        if base not in self.bases:
            self.bases[base] = self.back(base)
        return self.bases[base]

    def back(self, expr) -> sp.Expr:
        """symengine → sympy, with gradproof's own symbols, constants and function classes restored; each
        subexpression once, across calls (the derivatives of one E share most of theirs)."""
        return post_order(expr, self.returned, self._back, lambda node: node.args)

    def _back(self, node) -> sp.Expr:
        args = [self.returned[arg] for arg in node.args]
        if isinstance(node, se.Add):
            return sp.Add(*args)
        if isinstance(node, se.Mul):
            return sp.Mul(*args)
        if isinstance(node, se.Pow):
            return sp.Pow(*args)
        if isinstance(node, se.Symbol) and node.name in self.symbols:
            return self.symbols[node.name]
        if isinstance(node, se.FunctionSymbol) and node.get_name() in self.functions:
            return self.functions[node.get_name()](*args)
        if args:  # nothing the conversion makes: symengine's own conversion, arguments and all
            return sp.sympify(node).func(*args)
        return sp.sympify(node)


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
            self.convert.name(node.func, self.convert.functions, node.func.__name__)
            self.rules[node] = self.convert.node_rule(node)
        return self.rules[node]


class Differentiated:
    """∂E/∂w for every weight, in symengine, computed before any claim is known (so before the user's
    code runs); :meth:`settle` then expands each difference with a claimed entry there. A weight whose
    path through E symengine does not differentiate by ``sympy.diff``'s rules (an Abs, a sign) is
    differentiated by ``sympy.diff`` here, also before, and left to sympy's decision. Raises
    :class:`CannotCarry` where E holds what symengine cannot carry."""

    def __init__(self, error: sp.Expr, weights, divides: Callable[[sp.Expr], bool],
                 advance: Callable[[], None] | None = None):
        require()
        self.convert = Converter()
        e = self.convert(error)
        by_rule = chain.ChainRule(error, Algebra(self.convert))
        self.derivatives = tuple(self._derivative(by_rule, e, w, advance) for w in weights)
        self.by_sympy = {k: sp.diff(error, w) for k, (d, w) in enumerate(zip(self.derivatives, weights)) if d is None}
        # ∂E/∂w can have a denominator only if E divides, takes a log, has a fractional power, or a rule
        # divides
        rules = [self.convert.back(rule) for rule in self.convert.templates.values()]
        nodes = by_rule.graph.nodes
        self.roots = root_bases(error)  # E's roots: symengine's rewriting of them holds where they are positive
        self.fractions = divides(error) or any(isinstance(n, sp.log) or (n.is_Pow and not n.exp.is_Integer)
                                               for n in nodes) or any(divides(rule) for rule in rules)

    def _derivative(self, by_rule: chain.ChainRule, e, weight, advance):
        """∂E/∂weight by the chain rule, else by ``se.diff`` (None where sympy must differentiate it)."""
        try:
            found = by_rule.derivative(weight)
        except chain.Unsupported:
            found = self.convert.differentiate(e, self.convert(weight))
        if advance is not None:
            advance()
        return found

    def sympy_form(self, k: int) -> sp.Expr:
        """∂E/∂w of the k-th weight in sympy: symengine's, converted back (what was compared), or
        ``sympy.diff``'s where symengine did not differentiate it."""
        return self.by_sympy[k] if k in self.by_sympy else self.convert.back(self.derivatives[k])

    def settle(self, claimed, bases_of: Callable[[sp.Expr], list], positive: Callable[[sp.Expr], frozenset | None],
               advance: Callable[[], None] | None = None) -> list:
        """Per weight: None where d − c is zero in symengine and every denominator of either side is a base
        ``positive`` accepts (it returns the ranges the positivity rests on, gathered in ``self.ranges``, or
        None); otherwise ∂E/∂w in sympy, for sympy's decision. ``bases_of``: the claimed entry's
        denominators, in sympy; ``advance``: called after each weight."""
        self.ranges: set = set()
        settled = []
        for k, (d, c) in enumerate(zip(self.derivatives, claimed)):
            settled.append(None if k not in self.by_sympy and self._settles(d, c, bases_of, positive)
                           else self.sympy_form(k))
            if advance is not None:
                advance()
        return settled

    def _settles(self, d, c, bases_of, positive) -> bool:
        ranges: set = set()
        settled = self._zero(d, c, bases_of, positive, ranges)
        if settled:  # the ranges of a proven entry only, as the Judge states them
            self.ranges |= ranges
        return settled

    def _zero(self, d, c, bases_of, positive, ranges: set) -> bool:
        claimed_bases = bases_of(c)
        if not _all_positive(claimed_bases + root_bases(c) + self.roots, positive, ranges):
            return False  # a denominator, or a root symengine may rewrite, not shown positive: sympy decides
        try:
            difference = d - self.convert(c)
        except CannotCarry:  # a claimed entry symengine cannot carry: sympy decides it
            return False
        if se.expand(difference) == 0:
            return not self.fractions or _all_positive([self.convert.base_back(b) for b in _negative_bases(d)],
                                                       positive, ranges)
        if not (self.fractions or claimed_bases):
            return False
        denominators = _negative_bases(difference)
        return bool(denominators) and _numerator_is_zero(difference, denominators) and _all_positive(
            [self.convert.base_back(b) for b in denominators], positive, ranges)


def _carried_arguments(node) -> tuple:
    """The arguments of a node symengine carries; none for any other, which is then refused by its own
    name (a Piecewise, not the True among its conditions)."""
    if node.is_Add or node.is_Mul or node.is_Pow:
        return node.args
    if isinstance(node, sp.Function) and all(isinstance(arg, sp.Expr) for arg in node.args):
        return node.args  # an opaque function of expressions (a Piecewise's arguments are not)
    return ()


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
