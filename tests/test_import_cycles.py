"""No module of ours imports, directly or through others, a module that imports it back.

import-linter (``make test``) keeps the layers one way; this test covers the modules inside them.
"""

from __future__ import annotations

import grimp

PACKAGES = ("features", "models", "training", "serving", "cli", "experiments")


def test_no_module_is_part_of_an_import_cycle() -> None:
    graph = grimp.build_graph(*PACKAGES)

    cycles = [(module, imported) for module in sorted(graph.modules)
              for imported in graph.find_modules_directly_imported_by(module)
              if graph.chain_exists(importer=imported, imported=module)]

    assert cycles == []
