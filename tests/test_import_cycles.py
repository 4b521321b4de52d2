"""No module of ours imports, directly or through others, a module that imports it back.

import-linter (``make test``) keeps the layers one way; this test covers the modules inside them.
"""

from __future__ import annotations

import grimp

# By their installed names: the modules import each other as ``ssc_response.<folder>...``, so a
# graph of the bare folder names would have no edges and find nothing.
PACKAGES = tuple(f"ssc_response.{folder}" for folder in
                 ("features", "models", "training", "serving", "cli", "experiments"))


def test_no_module_is_part_of_an_import_cycle() -> None:
    graph = grimp.build_graph(*PACKAGES)
    imports = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    assert sum(map(len, imports.values())) > 100  # the graph really holds our imports

    cycles = [(module, imported) for module in sorted(imports) for imported in imports[module]
              if graph.chain_exists(importer=imported, imported=module)]

    assert cycles == []
