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
