"""The one compiled part of gradproof, beside pyproject.toml (which holds everything else): the streaming
outer product (numeric/compiled/_streaming.c). It is optional: where it cannot be built (no C compiler,
no Python headers) the install goes on and gradproof writes the outer product with numpy."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("gradproof.numeric.compiled._streaming", ["numeric/compiled/_streaming.c"],
                             optional=True)])
