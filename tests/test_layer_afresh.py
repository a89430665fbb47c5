"""A forward that memoises its first result where the state fingerprint does not look (adversarial finding
F03): a fresh copy of the user's code, called first at the sweep's farthest point, returns something else
there, so the check is undecidable — never agree with a zero backward, never DIFFER for a correct one. The
controls: the same layers without the memo agree with a correct backward and differ from a wrong one."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import textwrap

import numpy as np
import pytest

import gradproof
from gradproof.cli import main
from gradproof.derive.usercode import zygote
from gradproof.derive.usercode.conventions import read_layer
from gradproof.numeric.layers.fresh import Source

#: each hiding place: module-level set-up, then the forward's body (``TAG`` is unique to the test, so that
#: state left in this process — numpy, __main__, sys.modules — never reaches another test)
PLACES = {
    "deque": ("import collections\n_kept = collections.deque()",
              "if not _kept:\n    _kept.append(np.sin(x))\nreturn _kept[0].copy(), x"),
    "nested dict, 7 levels": ("_deep = {'a': {'b': {'c': {'d': {'e': {'f': {'g': {}}}}}}}}",
                              "box = _deep['a']['b']['c']['d']['e']['f']['g']\n"
                              "if 'out' not in box:\n    box['out'] = np.sin(x)\nreturn box['out'].copy(), x"),
    "helper module beside it": ("import helper_TAG",
                                "if 'out' not in helper_TAG.CACHE:\n    helper_TAG.CACHE['out'] = np.sin(x)\n"
                                "return helper_TAG.CACHE['out'].copy(), x"),
    "sys.modules['__main__']": ("import sys",
                                "main = sys.modules['__main__']\nif not hasattr(main, 'memo_TAG'):\n"
                                "    main.memo_TAG = np.sin(x)\nreturn main.memo_TAG.copy(), x"),
    "an attribute on numpy": ("", "if not hasattr(np, 'memo_TAG'):\n    np.memo_TAG = np.sin(x)\n"
                                  "return np.memo_TAG.copy(), x"),
    "functools.lru_cache": ("import functools\n@functools.lru_cache(maxsize=None)\ndef _box():\n    return []",
                            "box = _box()\nif not box:\n    box.append(np.sin(x))\nreturn box[0].copy(), x"),
    "a weakref to a class": ("import weakref\nclass _Store:\n    pass\n_ref = weakref.ref(_Store)",
                             "store = _ref()\nif not hasattr(store, 'out'):\n    store.out = np.sin(x)\n"
                             "return store.out.copy(), x"),
    "an object with __slots__": ("class _Slot:\n    __slots__ = ('out',)\n_slot = _Slot()",
                                 "if not hasattr(_slot, 'out'):\n    _slot.out = np.sin(x)\n"
                                 "return _slot.out.copy(), x"),
    "a helper function's attribute": ("def _tag():\n    pass",
                                      "if not hasattr(_tag, 'out'):\n    _tag.out = np.sin(x)\n"
                                      "return _tag.out.copy(), x"),
}

BACKWARDS = """

def memo_backward_zero(dout, x):
    return np.zeros_like(x)


def memo_backward_right(dout, x):
    return dout * np.cos(x)


def plain_forward(x):
    return np.sin(x), x


def plain_backward_right(dout, x):
    return dout * np.cos(x)


def plain_backward_wrong(dout, x):
    return dout * np.sin(x)
"""


@pytest.fixture
def tag(tmp_path):
    """A name unique to the test; what the layer leaves on numpy, __main__ and sys.modules is removed after."""
    name = f"t{abs(hash(str(tmp_path))) % 10 ** 9}"
    yield name
    for holder in (np, sys.modules["__main__"]):
        if hasattr(holder, f"memo_{name}"):
            delattr(holder, f"memo_{name}")
    sys.modules.pop(f"helper_{name}", None)


def _write(tmp_path, tag: str, place: str) -> str:
    setup, body = PLACES[place]
    (tmp_path / f"helper_{tag}.py").write_text("CACHE = {}\n")
    source = (f"import numpy as np\n{setup.replace('TAG', tag)}\n\n\ndef memo_forward(x):\n"
              + textwrap.indent(body.replace("TAG", tag), "    ") + "\n" + BACKWARDS)
    path = tmp_path / "layers.py"
    path.write_text(source)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({name: {"x": "randn:3,4"} for name in
                                ("memo_zero", "memo_right", "plain_right", "plain_wrong")}))
    return str(path), str(spec)


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.sampled(2)
def test_a_memo_hidden_from_the_fingerprint_is_undecidable_and_the_controls_decide(place, tmp_path, tag, capsys):
    path, spec = _write(tmp_path, tag, place)
    assert main(["check-layers", path, "--spec", spec, "--json"]) == 1
    layers = {layer["name"]: layer for layer in json.loads(capsys.readouterr().out)["layers"]}
    for name in ("memo_zero", "memo_right"):   # a zero stub never agrees; a correct backward is never blamed
        assert layers[name]["status"] == "undecidable", layers[name]
        assert "returns something else when loaded afresh: it keeps state between calls" in layers[name]["reason"]
    assert layers["plain_right"]["status"] == "agree", layers["plain_right"]
    assert layers["plain_wrong"]["status"] == "differ" and layers["plain_wrong"]["wrong"] == ["dx"]


def test_a_layer_object_memoising_in_itself_is_undecidable_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "objects.py"
    path.write_text(textwrap.dedent("""
        import numpy as np

        class Memo:
            def __init__(self):
                self.out = None

            def forward(self, x):
                self.x = x
                if self.out is None:
                    self.out = np.sin(x)
                return self.out.copy()

            def backward(self, dout):
                return np.zeros_like(self.x)

        class Plain(Memo):
            def forward(self, x):
                self.x = x
                return np.sin(x)

            def backward(self, dout):
                return dout * np.cos(self.x)
        """))
    assert main(["check-layer", f"{path}:Memo", "--arg", "x=randn:3,4"]) == 1
    assert "loaded afresh: it keeps state between calls" in capsys.readouterr().out
    assert main(["check-layer", f"{path}:Plain", "--arg", "x=randn:3,4"]) == 0


def test_a_file_that_cannot_be_loaded_afresh_leaves_the_check_undecidable(tmp_path, capsys):
    path = tmp_path / "shy.py"
    path.write_text("import os\nimport numpy as np\nif os.environ.get('GRADPROOF_AFRESH'):\n"
                    "    raise RuntimeError('not here')\n\n\ndef sin_forward(x):\n    return np.sin(x), x\n\n\n"
                    "def sin_backward(dout, x):\n    return dout * np.cos(x)\n")
    assert main(["check-layer", f"{path}:sin", "--arg", "x=randn:3,4"]) == 1
    out = capsys.readouterr().out
    assert "UNDECIDABLE" in out and "could not be called afresh" in out and "not here" in out


def test_the_python_api_loads_module_level_functions_afresh(tmp_path, tag, monkeypatch):
    path, _ = _write(tmp_path, tag, "deque")
    (tmp_path / f"api_{tag}.py").write_text((tmp_path / "layers.py").read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__(f"api_{tag}")
    try:
        x = np.random.default_rng(2).standard_normal((3, 4))
        memo = gradproof.check_layer(module.memo_forward, module.memo_backward_zero, (x,))
        assert memo.status == "undecidable" and "loaded afresh" in memo.reason
        assert gradproof.check_layer(module.plain_forward, module.plain_backward_right, (x,)).ok
    finally:
        sys.modules.pop(f"api_{tag}", None)


def test_a_lambda_cannot_be_loaded_afresh_and_the_result_says_so():
    x = np.random.default_rng(2).standard_normal((3, 4))
    result = gradproof.check_layer(lambda x: (np.sin(x), x), lambda d, x: d * np.cos(x), (x,))
    assert result.ok and any("was not called afresh" in note and "a lambda" in note for note in result.warnings)


def test_every_fork_of_the_zygote_is_a_first_call(tmp_path, tag):
    """The zygote never calls the user's code: two questions in a row each get the fresh value at their own
    point, though the forward memoises its first result."""
    path, _ = _write(tmp_path, tag, "deque")
    layer = read_layer(np.sin, None, (np.zeros(3),), kind="pair")
    fields = {k: v for k, v in vars(layer).items() if k not in ("forward", "backward", "module")}
    question = zygote.Question(("memo_forward", "memo_backward_zero"), fields)
    source = Source(path, question.names)
    process = zygote.zygote_for(source.where, 10.0)
    for point in (np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0])):
        outs, why = process.outputs(question, [point], 10.0)
        assert why == "" and np.array_equal(outs[0], np.sin(point))


def test_a_loss_memoising_its_first_value_is_undecidable_and_its_control_agrees(tmp_path, capsys):
    path = tmp_path / "losses.py"
    path.write_text(textwrap.dedent("""
        import collections
        import numpy as np

        _kept = collections.deque(maxlen=1)

        def memo_loss(x):
            if not _kept:
                _kept.append((np.sum(x ** 3) / 3, x ** 2))
            return _kept[0]

        def cube_loss(x):
            return np.array([np.sum(x ** 3) / 3]), x ** 2
        """))
    assert main(["check-layer", f"{path}:memo_loss", "--arg", "x=randn:3,4"]) == 1
    assert "loaded afresh: it keeps state between calls" in capsys.readouterr().out
    assert main(["check-layer", f"{path}:cube_loss", "--arg", "x=randn:3,4"]) == 0


@pytest.mark.deferred
def test_a_forward_that_hangs_only_afresh_is_stopped_and_undecidable(tmp_path, capsys):
    path = tmp_path / "slow.py"
    path.write_text("import collections\nimport time\nimport numpy as np\n_seen = collections.deque()\n\n\n"
                    "def sin_forward(x):\n    if not _seen:\n        _seen.append(1)\n        if x.flat[0] != 0.25:\n"
                    "            time.sleep(60)\n    return np.sin(x), x\n\n\n"
                    "def sin_backward(dout, x):\n    return dout * np.cos(x)\n")
    assert main(["check-layer", f"{path}:sin", "--arg", "x=[[0.25, 0.5], [0.75, 1.0]]", "--timeout", "1"]) == 1
    out = capsys.readouterr().out
    assert "UNDECIDABLE" in out and "could not be called afresh" in out and "did not return within 1 s" in out


def test_a_forked_copy_of_this_process_leaves_the_zygotes_alone(tmp_path, tag):
    path, _ = _write(tmp_path, tag, "deque")
    process = zygote.zygote_for(path, 10.0)
    child = os.fork()
    if child == 0:   # what a forked check (a proof beside, an isolated backward) does when it ends
        zygote.close_all()
        os._exit(0)
    os.waitpid(child, 0)
    assert process.alive() and zygote.zygote_for(path, 10.0) is process


def test_no_fresh_interpreter_leaves_a_file_layer_undecidable_not_agree(tmp_path, tag, capsys, monkeypatch):
    def refuse(self, where, timeout):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(zygote.Zygote, "__init__", refuse)
    path, spec = _write(tmp_path, tag, "deque")
    assert main(["check-layer", f"{path}:plain_right", "--backward", "plain_backward_right", "--arg",
                 "x=randn:3,4"]) == 1
    out = capsys.readouterr().out
    assert "UNDECIDABLE" in out and "no fresh interpreter could be started" in out


def test_a_module_loaded_from_a_path_under_its_own_name_is_loaded_afresh_from_that_path(tmp_path, tag):
    path, _ = _write(tmp_path, tag, "functools.lru_cache")
    spec = importlib.util.spec_from_file_location(f"own_name_{tag}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module    # as pytest's importlib mode does: not importable by that name
    try:
        spec.loader.exec_module(module)
        x = np.random.default_rng(2).standard_normal((3, 4))
        memo = gradproof.check_layer(module.memo_forward, module.memo_backward_zero, (x,))
        assert memo.status == "undecidable" and "loaded afresh" in memo.reason, memo.report()
    finally:
        sys.modules.pop(spec.name, None)


def test_in_python_a_module_that_does_not_load_afresh_keeps_its_verdict_with_a_note(tmp_path, monkeypatch):
    """gradproof's guess at where the code lives, not the code's state: the verdict stands, the note says
    what was not checked (the command line, which has the file, is undecidable: see above)."""
    (tmp_path / "shy_api.py").write_text("import os\nimport numpy as np\nif os.environ.get('GRADPROOF_AFRESH'):\n"
                                         "    raise RuntimeError('not here')\n\n\ndef forward(x):\n    return np.sin(x), x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("shy_api")
    try:
        x = np.random.default_rng(2).standard_normal((3, 4))
        result = gradproof.check_layer(module.forward, lambda d, x: d * np.cos(x), (x,))
        assert result.ok and any("was not called afresh (it fails to load afresh" in n for n in result.warnings)
    finally:
        sys.modules.pop("shy_api", None)
