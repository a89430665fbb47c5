"""The watch's fast reads (gradproof.derive.usercode.versions): each word a gather reads is the word read
alone, and moves exactly when the thing it stands for changes."""

import ctypes
import sys
import types

import numpy as np
import pytest

from gradproof.derive.usercode import versions

pytestmark = pytest.mark.skipif(versions.TAGS is None, reason="no version tags on this Python")


def _places(objects, offset):
    return np.array([id(o) + offset for o in objects], dtype=np.uint64)


def test_addresses_are_the_ids():
    objects = [object(), {}, [], 3.5, int, sys, types.ModuleType("m"), (lambda: 0)]
    assert versions.addresses(objects).tolist() == [id(o) for o in objects]


def test_a_gather_reads_each_tag_as_a_read_alone_would_and_sees_only_the_dict_that_changed():
    dicts = [{"k": n} for n in range(50)] + [dict(vars(types.SimpleNamespace(a=1)))]
    words = versions.Words(_places(dicts, versions.OFFSET))
    before = words.read()
    assert before.tolist() == [ctypes.c_uint64.from_address(id(d) + versions.OFFSET).value for d in dicts]
    dicts[17]["k"] = "changed"
    after = words.read()
    assert np.flatnonzero(after != before).tolist() == [17]


def test_a_cells_word_is_its_contents_pointer_and_moves_when_the_cell_is_set_or_emptied():
    first, second = object(), object()

    def outer():
        held = first

        def inner():
            return held
        return inner
    cell = outer().__closure__[0]
    words = versions.Words(_places([cell], versions.CELL_OFFSET))
    assert words.read().tolist() == [id(first)]
    cell.cell_contents = second
    assert words.read().tolist() == [id(second)]
    del cell.cell_contents
    assert words.read().tolist() == [0]


def test_a_modules_word_is_its_class_pointer_and_moves_when_the_class_is_swapped():
    module = types.ModuleType("probe")

    class Sneaky(types.ModuleType):
        pass
    words = versions.Words(_places([module], versions.TYPE_OFFSET))
    assert words.read().tolist() == [id(types.ModuleType)]
    module.__class__ = Sneaky
    assert words.read().tolist() == [id(Sneaky)]


def test_no_places_read_nothing_and_a_place_off_a_word_boundary_is_refused():
    assert versions.Words(np.zeros(0, dtype=np.uint64)).read().size == 0
    d = {}
    with pytest.raises(ValueError, match="word boundary"):
        versions.Words(np.array([id(d) + 8, id(d) + 3], dtype=np.uint64))
