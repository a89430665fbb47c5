"""``gradproof check-layers FILE.py --prove``: each layer's proof by tracing beside its numeric check.

The proof (:func:`gradproof.derive.proof.layer.prove_layer`) runs at the very arguments the check used, in
a child process stopped after ``--prove-budget`` seconds (where the platform can fork; elsewhere in this
process, unbounded). Its verdict is *proven*, *refuted* (with a counterexample), *undecided* (with the
reason: not finished in time, no counterexample found, …) or *cannot-trace* (the operation and the line of
your file). A proof that contradicts the check — proven where the check found a gradient that differs,
refuted where the check agrees, or refuting other gradients than the check names — is a **disagreement**:
it is printed and the command exits 1, since one of the two verifiers is wrong (a bug in gradproof).
"""

from __future__ import annotations

import functools

from gradproof.derive.errors import InputError
from gradproof.derive.proof.layer import prove_layer
from gradproof.derive.runtime.forked import bounded
from gradproof.derive.usercode.conventions import parameter_names
from gradproof.derive.usercode.interpreter import SharedStateChanged
from gradproof.numeric.layers.result import AGREE, DIFFER, NOT_IMPLEMENTED

PROVEN, REFUTED, UNDECIDED, CANNOT = "proven", "refuted", "undecided", "cannot-trace"


def proof_beside(found, check, used, options: dict, args) -> dict:
    """The proof of ``found`` at ``used`` (the check's arguments), as a JSON-ready summary with its
    ``disagreement`` with ``check`` ("" when they agree)."""
    if found.kind not in ("pair", "loss"):
        summary = _summary(CANNOT, reason=f"cannot trace: a {found.kind} layer (prove-layer traces forward/backward "
                                          "pairs and losses)")
    elif used is None:
        summary = _summary(UNDECIDED, reason="not traced: the check had no arguments to run it at")
    else:
        task = functools.partial(_prove, found, used, options, args.seed, args.timeout)
        summary = bounded(task, args.prove_budget, _failed) or _summary(
            UNDECIDED, sizes=_shapes(found, used),
            reason=f"the proof did not finish within {args.prove_budget:g} s (--prove-budget) at these sizes")
    summary["disagreement"] = disagreement(check, summary)
    return summary


def _summary(status: str, *, reason: str = "", sizes: str = "", **more) -> dict:
    return {"status": status, "proven": 0, "total": 0, "refuted": [], "sizes": sizes, "seconds": None,
            "reason": reason, "counterexample": "", **more}


def _prove(found, used, options: dict, seed: int, timeout: float) -> dict:
    try:
        proof = prove_layer(found.forward, found.backward, tuple(used), kind=found.kind,
                            inputs=options.get("inputs"), outputs=options.get("outputs"), name=found.name,
                            seed=seed, timeout=timeout)
    except SharedStateChanged:   # the code changed the process: nothing is judged, the whole command refuses
        raise
    except InputError as error:   # cannot trace (the operation and the line), or the code raised while traced
        text = str(error)
        return _summary(CANNOT if text.startswith("cannot trace") else UNDECIDED, reason=text)
    except Exception as error:  # noqa: BLE001 - the prover's own failure: reported as such, never a traceback
        return _summary(UNDECIDED, reason=f"the prover failed: {type(error).__name__}: {error}")
    reasons = [e.reason for e in proof.undecided] + list(proof.diagnosis)
    return {"status": proof.status, "proven": proof.proven, "total": proof.total,
            "refuted": sorted({f"d{e.input}" for e in proof.refuted}), "sizes": proof.sizes_text(),
            "seconds": round(proof.seconds, 3), "reason": reasons[0] if reasons and not proof.ok else "",
            "counterexample": f"{proof.refuted[0].name}: {proof.refuted[0].counterexample.describe()}"
                              if proof.refuted else "",
            "region": len(proof.region), "notes": list(proof.notes)}


def _failed(error: BaseException | None) -> dict:
    if error is None:
        return _summary(UNDECIDED, reason="the proof's process ended without an answer")
    return _summary(UNDECIDED, reason=f"the proof stopped: {type(error).__name__}: {error}")


def _shapes(found, used) -> str:
    names = parameter_names(found.forward)
    return ", ".join(f"{name} {'×'.join(map(str, value.shape))}" for name, value in zip(names, used)
                     if hasattr(value, "shape") and getattr(value, "dtype", None) is not None
                     and value.dtype.kind == "f")


def disagreement(check, proof: dict) -> str:
    """Where the proof contradicts the numeric check ("" when it does not)."""
    wrong = list(check.wrong)
    if check.status == AGREE and proof["status"] == REFUTED:
        return f"the check finds every gradient right, the proof refutes {', '.join(proof['refuted'])}"
    if check.status in (DIFFER, NOT_IMPLEMENTED) and proof["status"] == PROVEN:
        return f"the check finds {', '.join(wrong)} wrong, the proof proves every entry"
    if check.status in (DIFFER, NOT_IMPLEMENTED) and proof["status"] == REFUTED and set(proof["refuted"]) != set(wrong):
        return f"the check finds {', '.join(wrong) or 'nothing'} wrong, the proof refutes {', '.join(proof['refuted'])}"
    return ""


def proof_line(proof: dict) -> str:
    """One line: the proof's verdict, its sizes, and a disagreement if there is one."""
    status = proof["status"]
    if status == PROVEN:
        line = f"proven: {proof['proven']}/{proof['total']} entries at {proof['sizes']} ({proof['seconds']:.2f} s)"
    elif status == REFUTED:
        line = f"REFUTED {', '.join(proof['refuted'])} at {proof['sizes']}: {proof['counterexample']}"
    elif status == CANNOT:
        line = proof["reason"]
    else:
        sizes = f" at {proof['sizes']}" if proof["sizes"] else ""
        line = f"undecided{sizes}: {proof['reason']}"
    if proof["disagreement"]:
        line += f"\n      DISAGREEMENT (a bug in gradproof, please report it): {proof['disagreement']}"
    return line


def proofs_text(text: str, results: list, proofs: list[dict]) -> str:
    """The check-layers summary with each layer's proof on the line under its verdict."""
    lines = text.split("\n")
    out = lines[:1]
    for row, proof in zip(lines[1:1 + len(results)], proofs):
        out += [row, f"      proof: {proof_line(proof)}"]
    out += lines[1 + len(results):]
    disagreements = sum(bool(p["disagreement"]) for p in proofs)
    counts: dict = {}
    for proof in proofs:
        counts[proof["status"]] = counts.get(proof["status"], 0) + 1
    out.append("proofs: " + ", ".join(f"{n} {s}" for s, n in counts.items())
               + (f"; {disagreements} DISAGREE with the check" if disagreements else "; none disagrees with the check"))
    return "\n".join(out)


def with_proofs(summary: dict, proofs: list[dict]) -> dict:
    """The check-layers JSON with ``proof`` in each layer and ``disagreements`` counted."""
    for layer, proof in zip(summary["layers"], proofs):
        layer["proof"] = proof
    summary["disagreements"] = sum(bool(p["disagreement"]) for p in proofs)
    summary["ok"] = summary["ok"] and summary["disagreements"] == 0
    return summary
