"""One walk over an expression's graph: every node once, its children before it, without recursion (deep
expressions do not hit Python's recursion limit). The proof's evaluators, rebuilders and bounds, the
chain rule and the symengine conversion all walk this way; each says what a node's children are and what
to compute at a node."""

from __future__ import annotations

from collections.abc import Callable


def arguments(node) -> tuple:
    """A node's arguments (none for an atom)."""
    return () if node.is_Atom else node.args


def polynomial_children(node) -> tuple:
    """The children of a polynomial's node: the terms of a sum or product, the base of an integer power;
    anything else is a leaf."""
    if node.is_Add or node.is_Mul:
        return node.args
    if node.is_Pow and node.exp.is_Integer:
        return (node.base,)
    return ()


def post_order(root, done: dict, visit: Callable, children: Callable = arguments):
    """``done[root]``, after ``done[node] = visit(node)`` for every node below ``root`` (and ``root``) not
    already in ``done``, children first; ``children(node)`` is called on a node each time it is looked at
    and not yet done."""
    stack = [root]
    while stack:
        node = stack[-1]
        if node in done:
            stack.pop()
            continue
        pending = [child for child in children(node) if child not in done]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        done[node] = visit(node)
    return done[root]


def nodes_of(*roots) -> set:
    """Every distinct node of ``roots``' expressions (each shared subexpression looked at once, where
    sympy's ``atoms`` walks the tree and meets a shared one on every path to it)."""
    seen = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(arguments(node))
    return seen


def atoms_of(*roots, kinds: tuple) -> set:
    """The nodes of ``roots`` that are instances of ``kinds``: ``expr.atoms(*kinds)`` over the graph."""
    return {node for node in nodes_of(*roots) if isinstance(node, kinds)}
