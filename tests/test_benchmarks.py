"""benchmarks/figures.py measures with the optional baselines missing (torch, jax): it says which are not
installed instead of failing."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BLOCKER = '''
import sys
class _Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "jax", "jaxlib", "symengine"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None
sys.meta_path.insert(0, _Missing())
'''


def test_a_warm_figure_without_torch_and_jax_names_them_missing(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "figures.py"), "psi-mid", "--repeats", "3",
                           "--external"], capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=300)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["seconds"] > 0 and list(found["baselines"]) == ["memory floor: read W̄, write its size (np.copyto)"]
    assert found["missing"] == ["jax.jit(jax.grad)", "torch forward+backward"]


def test_interleaved_rounds_change_the_order_so_no_side_always_follows_the_same_one():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import figures
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    order = []
    sides = {name: (lambda name=name: order.append(name)) for name in ("b", "c")}
    found = figures.medians(12, lambda: order.append("ours"), sides)
    assert set(found) == {"ours", "b", "c"} and len(order) == 3 + 12 * 3
    rounds = [order[3 + 3 * k: 6 + 3 * k] for k in range(12)]   # after one warm-up each
    assert all(sorted(r) == ["b", "c", "ours"] for r in rounds)
    before_ours = {r[r.index("ours") - 1] for r in rounds if r.index("ours")}
    assert before_ours == {"b", "c"} and {r[0] for r in rounds} == {"ours", "b", "c"}
