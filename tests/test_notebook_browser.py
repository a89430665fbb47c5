"""The notebook displays in a real browser: headless Chromium typesets them with MathJax 2 (Debian's
``chromium`` and ``libjs-mathjax``, both local: nothing is fetched), and the page must show every display
with no MathJax error (an unknown command, a bad brace) and the tables the README promises. Skipped
where either is not installed (.ci/run installs both). ``python tests/test_notebook_browser.py OUT.png``
writes a screenshot of the same page to look at.
"""

from __future__ import annotations

import html
import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradproof import Derivation, Network, check_gradient, prove, random_sample

MATHJAX = Path("/usr/share/javascript/mathjax/MathJax.js")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(CHROMIUM is None or not MATHJAX.exists(),
                                   reason="needs chromium and libjs-mathjax (apt-get install chromium libjs-mathjax)")
CONFIG = """MathJax.Hub.Config({jax: ["input/TeX", "output/HTML-CSS"], extensions: ["tex2jax.js"],
  TeX: {extensions: ["AMSmath.js", "AMSsymbols.js", "color.js"]},
  tex2jax: {inlineMath: [["$", "$"]], displayMath: [["$$", "$$"]], processEscapes: true},
  messageStyle: "none"});
MathJax.Hub.Queue(function () { document.body.setAttribute("data-typeset", "done"); });"""


def displays() -> list[tuple[str, str, str]]:
    """(what, kind, content) for the README's four notebook lines, on the source text's network."""
    importlib.import_module("gradproof.derive.render.notebook")  # Jupyter: import gradproof registers them
    network = Network.source_text()
    return [("network", "latex", network._repr_latex_()),
            ("Derivation.of(network)", "latex", Derivation.of(network)._repr_latex_()),
            ("prove(network)", "html", prove(network, diagnose=False)._repr_html_()),
            ("check_gradient(random_sample(network))", "html", check_gradient(random_sample(network))._repr_html_())]


def page(shown) -> str:
    cells = "".join(f"<h3><code>{html.escape(what)}</code></h3><div class='out {kind}'>"
                    f"{html.escape(content) if kind == 'latex' else content}</div>" for what, kind, content in shown)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><script type='text/x-mathjax-config'>{CONFIG}"
            f"</script><script src='file://{MATHJAX}?config=TeX-AMS_HTML'></script><style>body{{font-family:sans-serif;"
            "margin:20px}} td,th{padding:2px 8px;text-align:right} table{border-collapse:collapse}"
            "tr:nth-child(even){background:#f3f3f3}</style></head>"
            f"<body>{cells}</body></html>")


def render(shown, tmp: Path, screenshot: Path | None = None) -> str:
    """The page's DOM after MathJax has typeset it (and a screenshot, if asked)."""
    source = tmp / "notebook.html"
    source.write_text(page(shown))
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
              "--virtual-time-budget=20000", "--window-size=1300,4200"]
    if screenshot is not None:
        subprocess.run(common + [f"--screenshot={screenshot}", source.as_uri()], capture_output=True, timeout=180)
    done = subprocess.run(common + ["--dump-dom", source.as_uri()], capture_output=True, text=True, timeout=180)
    return done.stdout


def _errors(dom: str) -> list[str]:
    """MathJax's error marks in the page's body: an element of class merror, or its messages."""
    body = dom.split("<body", 1)[-1]
    return re.findall(r'class="[^"]*merror[^"]*"|Math Processing Error|Undefined control sequence[^<]*'
                      r'|mathcolor=&quot;red&quot;', body)  # the last: an unknown command, as noUndefined marks it


@pytest.mark.slow  # a browser: ~30 s; the notebook's rows are read back in test_roundtrip
@needs_browser
def test_the_notebook_displays_typeset_in_a_browser(tmp_path):
    shown = displays()
    dom = render(shown, tmp_path, tmp_path / "notebook.png")
    assert 'data-typeset="done"' in dom, dom[-2000:]
    assert not _errors(dom), _errors(dom)
    assert len(re.findall(r'class="MathJax_Display"', dom)) == 2      # the network and the derivation
    assert dom.split("<body", 1)[1].count("$$") == 0                    # nothing left untypeset
    assert "29/29 weights proven" in dom and dom.count("<tr>") >= 1 + 3 + 1 + 29   # proof and per-weight tables
    assert (tmp_path / "notebook.png").stat().st_size > 50_000


@needs_browser
@pytest.mark.deferred
def test_a_mathjax_error_would_be_seen(tmp_path):
    """The negative control: a display with an unknown command shows as an error in the DOM."""
    dom = render([("broken", "latex", "$$\\begin{aligned}a &= \\notacommand{b}\\end{aligned}$$")], tmp_path)
    assert 'data-typeset="done"' in dom and _errors(dom)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "notebook.png").resolve()
    render(displays(), out.parent, out)
    print(f"wrote {out}")
