"""``check_layer`` and ``check_loss``: a hand-written backward against the definition of the derivative.

The definition: for upstream gradients dout (random, seeded; 1 for a loss), a correct backward returns
∂φ/∂v for φ(v) = Σₖ ⟨doutₖ, outₖ(v)⟩ and every differentiable input v. Each returned entry is compared
with a finite difference of φ, computed by calling the user's forward only.

**The error model** (nothing is tuned; every number below is measured on the user's code or derived):

- *Rounding of φ* (δφ): φ is evaluated at 8 points on a tiny random path (2⁻³⁰ relative) and the
  Moré–Wild estimate σ of its noise taken from the difference table (:mod:`.noise`); one evaluation is
  within 8σ of exact, and never assumed better than γ(n + 2)·Σ|dout|·|out| (the rounding of the last sum)
  plus the outputs' final rounding in the dtype they came in, Σ|dout|·(u_d·|out| + η_d/2)/(1 − u_d)
  (:mod:`.precision`; a float32 output may not move along the path at all), nor for a loss than
  4u·max(1, |loss|) (losses compute through quantities of order one).
  A forward coarser inside than what it returns (float16 inside, float64 out: :mod:`.coarse`) is measured
  along coarser paths where φ does not move along this one, and outputs on float16's grid at every point
  are held to float16's rounding.
- *Rounding of the analytic gradient* (δg per entry): the same estimate from the user's backward at the
  same 8 points, per entry, never below 4u·|g|, plus the final rounding of the dtype it was returned in,
  (u_d·|g| + η_d/2)/(1 − u_d) (2⁻²⁴·|g| for float32). Inputs in float32 or float16 are converted to float64
  (exactly): the steps below are not representable in them.
- *Central differences* (step ε_φ^(1/3)·max(1, |v|), ε_φ = δφ/Σ|dout·out| the measured relative noise,
  never below float64's ε): truncation from the three-term fit over the steps h,
  2h, 4h, 8h; rounding the stencil's absolute weights times δφ/h; kinks from the one-sided differences of
  the same evaluations (:mod:`.entries`).
- *Wider steps*: where the central bound is mostly rounding and too coarse to decide, the same difference
  at 16, 256, … times the step (:func:`.entries.widened`), δφ there grown with Σ|dout·out|.
- *Complex step* (step 1e-20), only where the forward carries complex numbers and its imaginary parts
  stay 2⁵³ above float64's underflow (a subnormal keeps too few digits): validated per input
  against the central difference along a random direction that resolves that input's part (code that
  drops imaginary parts fails it and is differentiated by central differences), ±ih compared to find
  ties; it can only confirm agreement, and where it disagrees the central difference must refute it.
- An entry differs when |analytic − finite difference| exceeds the central difference's bound plus δg;
  it agrees when within, and the tolerance is below 1% of its own input's gradient scale (the largest
  returned entry; never the layer's: a gradient returned as zeros is resolved only against the finite
  difference's own size), or below float64's smallest normal number — a comparison that could have failed
  (:func:`.judge.resolves`); a random direction through every input agrees for an input only where its own
  part resolves.
- Finally φ at the point is evaluated again, and what the user's functions can change between calls (module
  globals, their attributes, defaults and closure variables, class attributes:
  :mod:`gradproof.derive.usercode.state`) compared with before the first call: code that keeps state
  between calls is undecidable (a forward memoising its first result is constant to finite differences).
  Then, wherever the state is, a fresh copy of the code (a new interpreter) is called first at the sweep's
  farthest point and φ there compared with the watched forward's within 2δφ (:mod:`.fresh`); a layer that
  cannot be loaded afresh (a lambda, a closure, an object handed in) gets a note saying so.

**What is decided where**: the user's code runs under :func:`gradproof.derive.usercode.guard.call`
(exceptions, exits, hangs, prints); a forward or backward that gives different results for the same
arguments is random (undecidable); arguments changed in place are reported, and every call gets fresh
copies so that it changes nothing. Checking every entry costs one or two forward calls per entry (complex
step) or eight (central); past ``budget`` seconds a random sample of entries is checked, besides the
random directions (``budget`` is the whole check's), and an input that fails is then checked entry by entry
for up to 10/3 × ``budget`` more, then, if no entry was caught yet (a sparse error), by halving: random
directions over half of the candidates find each wrong entry in about 2·log₂(n) directions.
"""

from __future__ import annotations

import time

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.usercode import guard
from gradproof.derive.usercode.conventions import read_layer
from gradproof.derive.usercode.state import changed, module_state
from gradproof.derive.usercode.zygote import unavailable
from gradproof.numeric.layers import coarse, fresh, judge as J
from gradproof.numeric.layers.evaluation import Evaluator
from gradproof.numeric.layers.probe import Point, Stop, measure_noise, probe
from gradproof.numeric.layers.result import DIFFER, UNDECIDABLE, LayerCheck
from gradproof.numeric.layers.verdict import complex_notes, input_results, layer_status

METHODS = ("auto", "complex-step", "central")
ENTRIES = ("auto", "all", "directions")
#: the failing inputs' entry-by-entry check may take this many budgets
LOCALIZE = 10
#: evaluations per entry, for the budget: complex step (±ih), central (±h, ±2h, ±4h, ±8h)
COST = {"complex-step": 2, "central": 8}


@guard.one_check
def check_layer(forward, backward, args, *, inputs=None, outputs: int | None = None, douts=None,
                kind: str | None = None, method: str = "auto", entries: str = "auto", budget: float = 0.5,
                seed: int = 0, timeout: float | None = guard.DEFAULT_TIMEOUT, name: str | None = None,
                source: fresh.Source | None = None) -> LayerCheck:
    """Check ``backward`` (the gradients it returns) against the finite differences of ``forward``.

    - ``args``: the forward's positional arguments; float arrays are the differentiable inputs.
    - ``inputs``: which arguments (names or positions) the backward returns gradients for.
    - ``outputs``: how many leading values of the forward's result are outputs (the rest is the cache).
    - ``douts``: the upstream gradients (default: standard normal, from ``seed``).
    - ``kind``: the convention (pair, loss, function, module, torch); recognised when not given.
    - ``method``: auto (complex step where the forward carries it, else central), complex-step, central.
    - ``entries``: auto (every entry if the whole check fits in ``budget`` seconds, else a random sample
      of entries besides the random directions), all, directions.
    - ``source``: where the code is loaded afresh to call the forward first at a point of the sweep
      (:mod:`.fresh`); None: found from the functions' modules where they are module-level.
    """
    _check_options(method, entries, budget, seed)
    if outputs is not None and (isinstance(outputs, bool) or not isinstance(outputs, (int, np.integer)) or outputs < 1):
        raise InputError(f"outputs is how many leading values of the forward's result are outputs: a whole "
                         f"number ≥ 1, not {outputs!r}")
    layer = read_layer(forward, backward, args, kind=kind, inputs=inputs, outputs=outputs, name=name)
    guard.ready()   # the guard's one-time cost, outside the budget
    start, notes, before = time.perf_counter(), [], module_state((forward, backward))
    rng = np.random.default_rng(seed_sequence(seed))
    given = source is not None
    source, unsourced = (source, "") if given else fresh.source_of(forward, backward)
    try:
        point = probe(layer, douts, rng, timeout, notes)
        process = fresh.start(source, timeout)
        ev = Evaluator(point.layer, point.douts, timeout, origin=point.values)
        model = measure_noise(ev, point, rng, notes)
    except Stop as stop:
        return LayerCheck(layer.name, layer.kind or "pair", stop.status, reason=stop.reason, warnings=notes,
                          seconds=time.perf_counter() - start, seed=seed)
    own = tuple(float(np.max(np.abs(c))) if c is not None and c.size else 0.0 for c in point.claimed)
    measures = J.Measures(point.phi0, model["delta_phi"], model["step"], own, model["magnitude_phi"],
                          widens=not model["rounds_inside"])
    judged = _judge_directions(ev, point, measures, rng, method)
    _sweep(ev, point, measures, judged, rng, entries, budget, max(budget - (time.perf_counter() - start), 0.0))
    stateful = _stateful(ev, point, changed(before, module_state((forward, backward)))) or \
        _afresh(ev, point, model, process, source, timeout, unsourced, notes, given)
    if stateful:
        return LayerCheck(point.layer.name, point.layer.kind, UNDECIDABLE, reason=stateful, warnings=notes,
                          seconds=time.perf_counter() - start, calls=ev.calls, seed=seed)
    results = input_results(point, judged, model)
    status, reason = layer_status(results)
    if status == UNDECIDABLE and model["rounds_inside"]:
        reason = f"{coarse.reason(model['rounds_inside'])}; {reason}"
    model["method"] = sorted({r.method for r in results if r.method})
    notes += complex_notes(point, judged) if method != "central" else []
    if ev.printed:
        notes.append(f"{point.layer.forward_name} printed {ev.printed} lines during the finite differences "
                     "(kept off the terminal)")
    return LayerCheck(point.layer.name, point.layer.kind, status, results, reason, notes, model,
                      time.perf_counter() - start, ev.calls, seed)


def _stateful(ev, point: Point, state: list[str]) -> str:
    """Why the check's calls do not describe the code's function of its inputs ("": they do)."""
    if state:   # a memoised first result is a constant function to finite differences: nothing to compare
        return (f"your code changed state kept between calls ({', '.join(state[:3])}): later calls may compute "
                "something else (a cache may return the same stale value at every point), so no finite "
                "difference is meaningful")
    if ev.sweep(lambda: ev.phi(point.values), what=point.layer.forward_name) != point.phi0:
        return (f"{point.layer.forward_name} gave another value for the same arguments after {ev.calls} calls: it "
                "keeps state between calls (a counter, a cache, a random generator), so no finite difference is "
                "meaningful")
    return ""


def _afresh(ev, point: Point, model: dict, process, source, timeout, unsourced: str, notes: list, given: bool) -> str:
    """Why the forward keeps state, from a fresh copy called first at the sweep's farthest point ("": it
    agrees there); where it cannot be loaded afresh, a note says what that leaves unchecked (a ``given``
    source, the command line's file, that fails to load is undecidable instead)."""
    if process is None or ev.farthest is None:
        why = unsourced or unavailable() or "nothing was evaluated away from the point"
        notes.append(fresh.unchecked(point.layer, why))
        model["afresh"] = f"not called afresh: {why}"
        return ""
    try:
        reason = fresh.afresh(process, source, point, ev.farthest, model["delta_phi"], timeout, found=not given)
    except fresh.NotAfresh as unloaded:
        notes.append(fresh.unchecked(point.layer, str(unloaded)))
        model["afresh"] = f"not called afresh: {unloaded}"
        return ""
    model["afresh"] = reason or (f"called afresh at the sweep's farthest point: φ within "
                                 f"{fresh.EVALUATIONS}δφ of the watched forward's")
    return reason


def check_loss(loss, args, **options) -> LayerCheck:
    """Check a loss written as ``loss, dx = loss(*args)``: dx against the finite differences of the loss
    (of its first argument; ``inputs=`` names others). Options as for :func:`check_layer`."""
    options.setdefault("kind", "loss")
    return check_layer(loss, None, args, **options)


def seed_sequence(seed: int) -> list[int]:
    """The check's own random stream for ``seed``: never the stream of ``default_rng(seed)``, which users (and
    the command line) draw their arguments from (upstream gradients equal to the input, up to a scale, make
    a batchnorm's true dx zero and hide a missing γ)."""
    return [int(seed), 0x67726164]


def _check_options(method, entries, budget, seed) -> None:
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    if entries not in ENTRIES:
        raise InputError(f"unknown entries {entries!r}: choose one of {', '.join(ENTRIES)}")
    if not isinstance(budget, (int, float)) or not budget > 0:
        raise InputError(f"budget must be a positive number of seconds, not {budget!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a whole number ≥ 0, not {seed!r}")


def _judge_directions(ev, point: Point, m: J.Measures, rng, method: str) -> list:
    """Random directions through every input at once; each input alone where that disagrees (which input
    is wrong?) or where the complex step's trust is still open."""
    judged = [J.Judged(slot, point.values[slot], point.claimed[slot], point.delta[slot], name=s.name, gradient=s.gradient)
              for slot, s in enumerate(point.layer.slots)]
    for j in judged:
        if method == "central":
            j.complex_reason = "method central was asked for"
        elif point.layer.kind == "torch":
            j.complex_reason = "a torch Function is checked by central differences"
    use_complex = method != "central"
    joint = ev.sweep(lambda: J.joint_directions(ev, point.values, judged, m, rng, use_complex),
                     what=point.layer.forward_name)
    for j in judged:
        open_complex = use_complex and not j.complex_ok and not j.complex_reason
        if not joint or j.claimed is None or open_complex:
            ev.sweep(lambda: J.directions(ev, point.values, j, m, rng, use_complex), what=point.layer.forward_name)
        if method == "complex-step" and not j.complex_ok:
            j.complex_reason += " (complex-step was asked for: central differences used instead)"
    return judged


def _sweep(ev, point: Point, m: J.Measures, judged: list, rng, entries: str, budget: float, left: float) -> None:
    """Entry by entry in the ``left`` of the budget, then the failing inputs for up to LOCALIZE budgets."""
    orders = [J.entry_order(j.value.shape, rng) for j in judged]
    costs = [len(order) * COST["complex-step" if j.complex_ok else "central"] * ev.seconds_per_call
             for order, j in zip(orders, judged)]
    total = sum(costs)
    for j, order, cost in zip(judged, orders, costs):
        if entries == "directions":
            continue
        allowance = np.inf if entries == "all" else (left if total <= left else left * cost / max(total, 1e-9))
        _entries(ev, point, m, j, order, allowance)
    for j, order in zip(judged, orders):
        # a third of the time entry by entry (a dense error shows at once), then halving for a sparse one
        if j.failing or j.claimed is None or _directions_unresolved(j) and entries != "directions":
            _entries(ev, point, m, j, order, np.inf if entries == "all" else LOCALIZE * budget / 3)
        if j.failing and not any(e.verdict == DIFFER for e in j.entries.values()):
            deadline = J.now() + 2 * LOCALIZE * budget / 3
            ev.sweep(lambda: J.bisect_entries(ev, point.values, j, m, rng, deadline), what=point.layer.forward_name)


def _directions_unresolved(j: J.Judged) -> bool:
    """Its random directions could not resolve it (a gradient far smaller than the layer's others) and some
    entries are still unchecked: only entries can decide it."""
    return any(d.verdict == UNDECIDABLE for d in j.directions) and len(j.reference) < j.value.size


def _entries(ev, point, m: J.Measures, j: J.Judged, order, allowance: float) -> None:
    """Entries of one input in ``order`` for ``allowance`` seconds."""
    deadline = J.now() + allowance
    work = lambda: J.sweep_entries(ev, point.values, j, order, m, deadline)
    ev.sweep(work, what=point.layer.forward_name)
