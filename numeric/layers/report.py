"""A layer check in words: the verdict, then per gradient which entries differ, worst first, by how much,
and the mistake it looks like. The analytic value is the user's backward; the finite difference is the
derivative of ⟨dout, forward⟩ by its definition, from the forward alone."""

from __future__ import annotations

from gradproof.numeric.layers.statuses import AGREE, DIFFER, NOT_IMPLEMENTED, UNDECIDABLE

HEADLINE = {AGREE: "agree", DIFFER: "DIFFER", NOT_IMPLEMENTED: "NOT IMPLEMENTED", "error": "ERROR",
            UNDECIDABLE: "UNDECIDABLE"}
COLUMNS = ("entry", "analytic", "finite diff.", "|difference|", "tolerance")


def format_layer(check, limit: int = 8) -> str:
    lines = [_headline(check)]
    for result in check.inputs:
        lines += _input_lines(result, limit)
    lines += [f"  note: {note}" for note in check.warnings]
    if check.inputs:
        lines.append("  " + footer(check))
    return "\n".join(lines)


def _headline(check) -> str:
    head = f"{check.name}: {HEADLINE.get(check.status, check.status)}"
    if check.status == AGREE:
        names = ", ".join(r.gradient for r in check.inputs)
        return f"{head}: {names} {'matches' if len(check.inputs) == 1 else 'match'} the finite differences"
    return f"{head}: {check.reason}" if check.reason else head


def _input_lines(result, limit: int) -> list[str]:
    shape = "×".join(map(str, result.shape)) or "scalar"
    title = f"  {result.gradient} ({shape}): "
    if result.status == AGREE:
        return [title + f"agrees ({result.coverage}; {result.method}; largest share of tolerance used "
                        f"{result.tolerance_used:.2g})"]
    lines = [title + _summary(result)]
    if result.note:
        lines.append(f"    {result.note}")
    if result.failures:
        lines += _table(result.failures, limit)
    elif result.undecided and result.status == UNDECIDABLE:
        lines += _table(result.undecided, min(limit, 3))
    for d in result.directions:
        if d.verdict == DIFFER and not result.failures:
            lines.append(f"    along a random direction d: ⟨{result.gradient}, d⟩ = {d.analytic:.10e}, finite "
                         f"difference {d.finite_difference:.10e}, tolerance {d.tolerance:.1e}")
    lines += [f"    looks like: {m}" for m in result.mistakes]
    return lines


def _summary(result) -> str:
    if result.status == NOT_IMPLEMENTED:
        return "not implemented"
    if result.status == UNDECIDABLE:
        return f"undecidable: {len(result.undecided)} of {result.checked} entries cannot be decided"
    if result.failures:
        return (f"{len(result.failures)} of {result.checked} entries checked differ (worst first; "
                f"{result.coverage}; {result.method})")
    return "differs"


def _table(entries, limit: int) -> list[str]:
    rows = [COLUMNS] + [(str(tuple(int(i) for i in e.index)), f"{e.analytic: .6e}", f"{e.finite_difference: .6e}",
                         f"{e.difference:.2e}", f"{e.tolerance:.1e}") for e in entries[:limit]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["    " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    if len(entries) > limit:
        lines.append(f"    … and {len(entries) - limit} more")
    reasons = sorted({e.reason for e in entries if e.reason})
    lines += [f"    ({reason})" for reason in reasons[:2]]
    return lines


def footer(check) -> str:
    model = check.model
    if check.kind in ("loss", "function"):
        text = "analytic = your gradient; finite diff. = the derivative of the value by its definition"
    else:
        text = (f"analytic = your backward; finite diff. = d/dv of ⟨dout, forward(v)⟩ by its definition "
                f"(dout ~ N(0, 1), seed {check.seed})")
    if "delta_phi" in model:
        text += (f"; rounding of one forward measured: σ = {model['noise_phi']:.1e}, bound "
                 f"{model['delta_phi']:.1e}")
    return text + f"; {check.calls} calls, {check.seconds:.2f} s"
