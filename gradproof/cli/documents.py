"""``gradproof latex`` (the derivation as a document, with the proof and the numeric check) and
``gradproof plot`` (error against step, cost against size)."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from gradproof.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, network_from_args
from gradproof.derive.render.derivation import Derivation
from gradproof.derive.render.document import document
from gradproof.derive.model.layer_net import has_pooling
from gradproof.derive.errors import InputError
from gradproof.derive.proof.prove import prove
from gradproof.numeric.checks.check import check_gradient
from gradproof.numeric.budget import require_memory
from gradproof.numeric.differences.finite_difference import METHODS
from gradproof.numeric.checks.report import latex_section
from gradproof.numeric import plots
from gradproof.numeric.samples import random_sample

#: the document writes every weighted sum out; beyond this it stops being readable (and sympy slow)
LATEX_WEIGHT_LIMIT = 2000
#: the exact proof in the document, weight by weight, for networks up to this many weights
LATEX_PROOF_LIMIT = 150


def run_latex(args) -> int:
    if has_pooling(args.layers or ""):
        return _layer_network_latex(args)
    network = network_from_args(args)
    if network.n_weights > LATEX_WEIGHT_LIMIT:
        raise InputError(f"the document writes every weighted sum out: {network.n_weights} weights is more than "
                         f"{LATEX_WEIGHT_LIMIT}; use a smaller network")
    if not args.output.endswith(".tex"):
        raise InputError(f"-o {args.output}: the output must be a .tex file")
    writable_path(args.output)
    weights = _chosen(network, args.weights)
    derivation = Derivation.of(network, weights)
    proof = prove(network) if network.n_weights <= LATEX_PROOF_LIMIT else None
    sections = [("The numeric check", _check_section(network, args.seed))]
    if proof is None:
        sections.insert(0, ("The proof", f"The exact proof, weight by weight, is left out for networks of more "
                                         f"than {LATEX_PROOF_LIMIT} weights: run \\texttt{{gradproof prove}}.\n"))
    path = Path(args.output)
    try:
        path.write_text(document(derivation, proof, sections))
    except OSError as error:
        raise InputError(f"-o {args.output}: cannot write it: {error.strerror or error}") from None
    status, pdf = _pdf(path) if args.pdf else (None, None)
    proven = proof is None or proof.ok
    _written(args, {"ok": proven and status in (None, EXIT_OK), "written": [str(path)] + ([str(pdf)] if pdf else []),
                    "proof": None if proof is None else {"ok": proof.ok, "proven": proof.proven, "total": proof.total},
                    "pdf": None if status is None else {"ok": status == EXIT_OK, "path": str(pdf) if pdf else None}})
    if status is not None and status != EXIT_OK:
        return status
    return EXIT_OK if proven else EXIT_FAILED


def _written(args, record: dict) -> None:
    """Say what was written: one line per file, or one JSON object under --json."""
    if getattr(args, "json", False):
        print(json.dumps(record, ensure_ascii=False))
    else:
        for path in record["written"]:
            print(f"wrote {path}")


def _layer_network_latex(args) -> int:
    """A network of layers with max pooling (:mod:`gradproof.cli.layer_networks`)."""
    if not args.output.endswith(".tex"):
        raise InputError(f"-o {args.output}: the output must be a .tex file")
    writable_path(args.output)
    tex, proof = importlib.import_module("gradproof.cli.layer_networks").latex_document(args)
    proven = proof is not None and proof.ok
    path = Path(args.output)
    try:
        path.write_text(tex)
    except OSError as error:
        raise InputError(f"-o {args.output}: cannot write it: {error.strerror or error}") from None
    status, pdf = _pdf(path) if args.pdf else (None, None)
    _written(args, {"ok": proven and status in (None, EXIT_OK), "written": [str(path)] + ([str(pdf)] if pdf else []),
                    "proof": None if proof is None else {"ok": proof.ok, "proven": proof.whole.proven,
                                                         "total": proof.whole.total},
                    "pdf": None if status is None else {"ok": status == EXIT_OK, "path": str(pdf) if pdf else None}})
    if status is not None and status != EXIT_OK:
        return status
    return EXIT_OK if proven else EXIT_FAILED


def _chosen(network, weights):
    if weights is None:  # from the output down, each layer's first bias weight and first weight
        return [(layer, source, 1) for layer in reversed(range(network.depth))
                for source in ((0, 1) if network.bias else (1,))]
    return "all" if weights == ["all"] else weights


def _check_section(network, seed: int) -> str:
    if not all(act.has_numpy_form for act in network.activations):
        return "The generic activation has no numbers to check: the proof above holds for every one.\n"
    sample = random_sample(network, seed=seed)
    methods = ("complex-step",) if network.has_conv else METHODS   # convolutions: the complex step only
    return latex_section([check_gradient(sample, method=method, seed=seed, progress=None) for method in methods])


def writable_path(output: str) -> Path:
    """The output path, after checking that its folder exists and that it is not a folder itself."""
    path = Path(output)
    if path.is_dir():
        raise InputError(f"-o {output}: that is a folder: give a file name")
    if not path.parent.is_dir():
        raise InputError(f"-o {output}: the folder {str(path.parent)!r} does not exist: create it first")
    return path


def _pdf(path: Path) -> tuple[int, Path | None]:
    """Run pdflatex on the written document: its exit status, and the PDF when it was written."""
    if shutil.which("pdflatex") is None:
        print(f"gradproof: error: --pdf needs pdflatex, which is not installed; {path} is written: install "
              "TeX Live (e.g. apt-get install texlive-latex-base texlive-latex-recommended) and run "
              f"pdflatex {path.name}", file=sys.stderr)
        return EXIT_USAGE, None
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", path.name],
                          cwd=path.parent.resolve(), capture_output=True, text=True)
    if done.returncode != 0:
        first = next((line for line in done.stdout.splitlines() if line.startswith("!")), "see the .log")
        print(f"gradproof: pdflatex failed on {path}: {first}", file=sys.stderr)
        return EXIT_FAILED, None
    return EXIT_OK, path.with_suffix(".pdf")


def run_plot(args) -> int:
    try:
        import matplotlib
    except ImportError:
        raise InputError("plots need matplotlib: pip install 'gradproof[plot]'") from None
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    if Path(args.output).suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError(f"-o {args.output}: write a .png, .pdf or .svg file")
    writable_path(args.output)
    figure, ax = plt.subplots(figsize=(7, 4.5))
    network = network_from_args(args)
    network.require_dense(f"gradproof plot {args.kind}")
    if args.kind == "error-vs-step":
        require_memory(network, None, "a plot")
        plots.error_vs_step(random_sample(network, seed=args.seed), ax=ax)
    else:
        plots.cost(network, ax=ax)
    figure.tight_layout()
    try:
        figure.savefig(args.output, dpi=120)
    except OSError as error:
        raise InputError(f"-o {args.output}: cannot write it: {error.strerror or error}") from None
    _written(args, {"ok": True, "written": [args.output], "kind": args.kind, "network": network.spec()})
    return EXIT_OK
