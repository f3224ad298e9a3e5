"""Build step pyproject.toml cannot express: the wheel carries the sample media and example configs.

``assets/`` and ``examples/`` stay at the repository root, where the README and operators find them;
the wheel gets copies under ``cluster/bundled/``, where :mod:`cluster.samples` looks first, so an
installed ``safecity demo`` and ``safecity analyze`` work without a checkout.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("assets", "examples")


class BuildPyWithSamples(build_py):  # type: ignore[misc]
    """``build_py`` that also copies the sample folders into the built ``cluster`` package."""

    def run(self) -> None:
        super().run()
        root = Path(__file__).resolve().parent
        for name in BUNDLED:
            self.copy_tree(str(root / name), str(Path(self.build_lib) / "cluster" / "bundled" / name))


setup(cmdclass={"build_py": BuildPyWithSamples})
