"""The messages a check prints: they are API, and tests pin them down.

A failure shows only the failing weights, worst first, in a small table: the weight in the source
text's notation and as ``layer,from,to``; the gradient under test, the compiled direct form and the
finite difference; the absolute and relative error, the tolerance and the share of it used; then a
footer with the method, step, dtype and seed, and how to rerun more precisely.
"""

from __future__ import annotations

import html

from gradproof.derive.model.notation import tex_text, weight_text
from gradproof.numeric.differences import formulas

COLUMNS = ("weight", "L,J,I", "analytic", "direct", "finite diff.", "|an. − FD|", "rel. error",
           "tolerance", "share")


def _number(value) -> str:
    return "—" if value is None else f"{value: .10e}"


def format_failure(result, limit: int = 20) -> str:
    failures = result.failures
    lines = []
    if failures:
        lines.append(f"gradient check FAILED: {len(failures)} of {result.weights} weights differ from the "
                     f"finite difference by more than their tolerance (worst first)")
    directions = [("", result.direction)] if result.direction is not None else []
    directions += [(f" restricted to layer {layer}", d) for layer, d in enumerate(getattr(result, "layer_directions", ()))]
    failed = [(where, d) for where, d in directions if not d.ok]
    if failed and not failures:
        lines.append("gradient check FAILED along a random direction v"
                     + (": every weight agrees on its own, but ⟨analytic, v⟩ does not" if result.weights else ""))
    for where, d in failed:
        lines.append(f"along a random direction v{where}: ⟨analytic, v⟩ = {d.analytic:.10e}, finite difference "
                     f"{d.finite_difference:.10e}, |difference| {abs(d.analytic - d.finite_difference):.2e} "
                     f"> tolerance {d.tolerance:.2e}")
    lines.append(f"analytic = {result.analytic_name}; direct = ∂E/∂w by the chain rule through E (sympy's derivative rules), compiled; "
                 "finite diff. = the derivative by its definition, from E alone")
    table = [COLUMNS] + [
        (weight_text(*r.weight), str(r.weight), _number(r.analytic), _number(r.direct),
         _number(r.finite_difference), f"{abs(r.analytic - r.finite_difference):.2e}",
         f"{r.relative_error:.2e}", f"{r.tolerance:.2e}", f"{r.share:.1e}")
        for r in failures[:limit]]
    if failures:
        widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
        lines += ["  " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in table]
        if len(failures) > limit:
            lines.append(f"  … and {len(failures) - limit} more")
    lines += [f"diagnosis: {sentence}" for sentence in result.diagnosis]
    lines.append(footer(result))
    return "\n".join(lines)


def format_success(result) -> str:
    has_direct = result.comparison is not None and result.comparison.direct is not None
    compared = "analytic, direct and finite difference" if has_direct else "analytic and finite difference"
    if result.weights:
        what = f"all {result.weights} weights agree ({compared}); {_resolution(result)}"
    else:
        what = "the gradient agrees along a random direction (per-weight check not run)"
    return (f"gradient check passed: {what}; max relative error {result.max_relative_error:.1e}, "
            f"largest share of tolerance used {result.tolerance_used:.2f}\n{footer(result)}")


def _resolution(result) -> str:
    unresolved = result.weights - result.resolved
    if not unresolved:
        return "the finite difference resolves every one"
    return (f"the finite difference resolves {result.resolved} (every layer has some); {unresolved} "
            f"{'is' if unresolved == 1 else 'are'} below its resolution and only bounded")


def format_undecided(result) -> str:
    """The message of a check that cannot decide: why, and what to try."""
    lines = ["gradient check cannot decide: nothing is said about the gradient"]
    if result.unreliable:
        lines.append(f"the finite difference cannot be formed here: {result.unreliable}")
    elif result.comparison is not None:
        layers = result.undecided_layers
        lines.append(f"no weight of layer{'s' if len(layers) > 1 else ''} {', '.join(map(str, layers))} has a "
                     "gradient the finite difference resolves (tolerance below |finite difference|): a wrong "
                     "gradient there could not have failed")
        lines += _unresolved_causes(result)
    else:
        lines.append("the finite difference along the random direction does not resolve ⟨∇E, v⟩")
    lines.append(footer(result))
    return "\n".join(lines)


def _unresolved_causes(result) -> list[str]:
    counts = result.comparison.unresolved_counts()
    lines = []
    if counts["step_too_large"]:
        lines.append(f"  {counts['step_too_large']} weights: the step is too large to bound its truncation (the "
                     "stencil leaves the disc on which E is analytic in the weight): use a smaller --step")
    if counts["kink"]:
        lines.append(f"  {counts['kink']} weights: a step crosses a ReLU kink (or meets an overflow): use "
                     "another --seed or a smaller --step")
    if counts["below_resolution"]:
        advice = ("the gradients there are too small for float64 at this point" if result.method == "complex-step"
                  else "use --method complex-step (no cancellation), or a larger --step")
        lines.append(f"  {counts['below_resolution']} weights: the gradient is below what the finite difference "
                     f"resolves at this step (its rounding bound is larger): {advice}")
    return lines


def footer(result) -> str:
    scale = "" if result.method == "complex-step" else " / max(1, |x̄|)"
    text = (f"method {result.method}, step {result.step:.1e}{scale}, {_precision(result)}, reduction {result.reduction}, "
            f"batch {result.batch or 1}, seed {result.seed if result.seed is not None else '—'}, "
            f"{result.seconds:.3f} s{_forms(result)}")
    if result.rerun:
        text += f"\nrerun: {result.rerun}"
        if result.method != "complex-step":
            text += " --method complex-step   (no cancellation: the most precise method)"
    return text


def _forms(result) -> str:
    """What the time leaves out: getting the per-weight forms."""
    if not getattr(result, "forms", ""):
        return " (the check alone)"
    origin = {"cache": "loaded from the disk cache", "sympy": "compiled by sympy", "memory": "already loaded"}
    return (f" (the check alone; the per-weight forms {origin.get(result.forms, result.forms)} in "
            f"{result.forms_seconds:.3f} s)")


def _precision(result) -> str:
    precision = getattr(result, "precision", "float64")
    return precision if precision == "float64" else f"{precision} tolerances (the gradient came in {precision})"


def latex_section(results) -> str:
    """The numeric check as a LaTeX section body: one row per finite-difference method."""
    no = "\\textbf{no}"
    rows = "\n".join(
        f"\\texttt{{{r.method}}} & ${_tex_number(r.step)}$ & {r.weights} & ${_tex_number(r.max_relative_error)}$ & "
        f"{r.tolerance_used:.2f} & {r.seconds * 1e3:.1f} & {'yes' if r.ok else no if r.verdict == 'differ' else 'undecided'} \\\\"
        for r in results)
    first = results[0]
    return ("On a random network drawn from seed "
            f"{first.seed}, every weight's gradient by the recurrence ({tex_text(first.analytic_name)}) was "
            "compared with "
            "the finite-difference definition of the derivative, each method with a tolerance derived from its "
            "error bound: its truncation bounded by Cauchy's estimate on the disc on which $E$ is analytic in the "
            f"weight ({_evaluations(results)}), its rounding from a running error analysis of the forward pass. "
            "A method agrees only where every layer has a weight whose finite difference exceeds its tolerance "
            "(else it is undecided). \\emph{Used} is the largest share of its tolerance any weight used.\n"
            "\\begin{center}\\begin{tabular}{lrrrrrc}\nmethod & step $h$ & weights & max.\\ rel.\\ error & used & ms "
            "& agree \\\\ \\hline\n" + rows + "\n\\end{tabular}\\end{center}\n")


def _evaluations(results) -> str:
    """How many evaluations of E each method's formula takes per weight (from the formulas the check uses)."""
    counts = [f"\\texttt{{{r.method}}} {len(formulas.stencil(r.method))}" for r in results]
    return "evaluations of $E$ per weight: " + ", ".join(counts)


def _tex_number(value: float) -> str:
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}\\times 10^{{{int(exponent)}}}"


def result_html(result, limit: int = 40) -> str:
    """A check result in a notebook: the verdict, the figures, and the per-weight comparison (every
    weight when it passes, the failing ones worst first when it fails; at most ``limit`` rows)."""
    head = (f"<p><b>{ {'agree': 'passed', 'differ': 'FAILED'}.get(result.verdict, 'cannot decide')}</b>: "
            f"{result.weights} weights, method "
            f"{result.method}, max relative error {result.max_relative_error:.1e}, tolerance used "
            f"{result.tolerance_used:.2f}, {result.seconds * 1e3:.1f} ms</p>")
    shown = result.rows if result.ok else result.failures
    rows = "".join(f"<tr><td>{html.escape(weight_text(*r.weight))}</td><td>{r.weight}</td><td>{r.analytic:.10e}</td>"
                   f"<td>{'—' if r.direct is None else f'{r.direct:.10e}'}</td><td>{r.finite_difference:.10e}</td>"
                   f"<td>{r.relative_error:.2e}</td><td>{r.tolerance:.2e}</td><td>{r.share:.1e}</td></tr>"
                   for r in shown[:limit])
    more = f"<p>… and {len(shown) - limit} more weights</p>" if len(shown) > limit else ""
    diagnosis = "".join(f"<li>{html.escape(sentence)}</li>" for sentence in result.diagnosis)
    return (head + "<table><tr><th>weight</th><th>L,J,I</th><th>analytic</th><th>direct</th><th>finite diff.</th>"
            f"<th>rel. error</th><th>tolerance</th><th>share</th></tr>{rows}</table>{more}"
            + (f"<ul>{diagnosis}</ul>" if diagnosis else ""))


