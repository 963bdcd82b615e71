"""
The package's layout rules (docs/code_map.rst): imports go one way, core <- networks <- algorithms <- continual and
adaptation <- benchmarks, zoo; ``from sb3_gtr import GTRPPO`` loads none of the machinery above the algorithms; the
public API exports what users reach for.
"""

import ast
import json
import pathlib
import subprocess
import sys

import pytest

import sb3_gtr

PACKAGE_DIR = pathlib.Path(sb3_gtr.__file__).parent

#: The layers, lowest first: a module may import from its own layer and the layers below it, never above.
LAYERS = {
    "sb3_gtr.common": 0,
    "sb3_gtr.networks": 1,
    "sb3_gtr.gtr_ppo": 2,
    "sb3_gtr.gtr_ppo_recurrent": 2,
    "sb3_gtr.llm": 2,
    "sb3_gtr.continual": 3,
    "sb3_gtr.adaptation": 3,
    "sb3_gtr.craftax": 3,
    "sb3_gtr.benchmarks": 4,
    "sb3_gtr.zoo": 4,
    "sb3_gtr.demo": 4,
}
#: Modules outside the layers: the top-level package (the public API) and the id registration, which imports nothing.
TOP_LEVEL = {"sb3_gtr", "sb3_gtr.registration"}


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS and to docs/code_map.rst")


def package_imports(path: pathlib.Path) -> set[str]:
    """Every ``sb3_gtr`` module a file imports, at the top or inside a function."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sb3_gtr") and node.level == 0:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names if alias.name.startswith("sb3_gtr"))
    return imported


MODULES = sorted((module_name(path), path) for path in PACKAGE_DIR.rglob("*.py"))


@pytest.mark.parametrize("module, path", MODULES, ids=[name for name, _ in MODULES])
def test_imports_go_one_way(module, path):
    imported = package_imports(path)
    if module == "sb3_gtr.registration":
        assert imported == set(), "registering the gymnasium ids must import nothing of the package"
        return
    if module == "sb3_gtr":
        # The public API imports the algorithms and below; the rest loads lazily (module __getattr__)
        assert all(name in TOP_LEVEL or layer_of(name) <= 2 for name in imported), imported
        return
    layer = layer_of(module)
    above = sorted(name for name in imported if name not in TOP_LEVEL and layer_of(name) > layer)
    assert not above, f"{module} (layer {layer}) imports from layers above it: {above}"
    if layer < 4:
        assert "sb3_gtr" not in imported, f"{module} imports the top-level package, which imports the algorithms"


def test_layers_cover_the_package():
    for module, _ in MODULES:
        if module not in TOP_LEVEL:
            layer_of(module)


def loaded_modules(code: str) -> list[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(result.stdout.strip().splitlines()[-1])


HEAVY = ("sb3_gtr.continual", "sb3_gtr.zoo", "sb3_gtr.benchmarks", "sb3_gtr.adaptation", "rl_zoo3", "optuna", "matplotlib")


def test_importing_the_algorithms_loads_no_continual_zoo_optuna_or_matplotlib():
    modules = loaded_modules("from sb3_gtr import GTRPPO, RecurrentGTRPPO")
    assert "sb3_gtr.gtr_ppo" in modules  # the check itself works
    loaded = [name for name in modules if name.startswith(HEAVY)]
    assert loaded == []


def test_ids_are_registered_on_import_and_build_lazily():
    modules = loaded_modules(
        "import gymnasium as gym, sb3_gtr\n"
        "ids = [env_id for env_id in gym.registry if env_id.startswith('sb3_gtr/')]\n"
        "assert 'sb3_gtr/continual-flip-v0' in ids and 'sb3_gtr/procgen-starpilot-v0' in ids, ids\n"
        "assert 'sb3_gtr.continual' not in sys.modules\n"
        "gym.make('sb3_gtr/continual-flip-v0', scale=0.01).close()"
    )
    assert "sb3_gtr.continual.registration" in modules


def test_suite_names_have_one_source():
    from sb3_gtr.continual.suites import SUITES
    from sb3_gtr.registration import SUITE_NAMES

    assert tuple(SUITES) == SUITE_NAMES


def test_lazy_exports():
    from sb3_gtr.adaptation import load_into_gtr
    from sb3_gtr.continual import ContinualTaskCallback, make_suite

    assert sb3_gtr.ContinualTaskCallback is ContinualTaskCallback
    assert sb3_gtr.make_suite is make_suite
    assert sb3_gtr.load_into_gtr is load_into_gtr
    assert {"ContinualTaskCallback", "load_into_gtr", "GTRPPO"} <= set(dir(sb3_gtr))
    for name in sb3_gtr.__all__:
        assert getattr(sb3_gtr, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        sb3_gtr.NoSuchThing  # noqa: B018


@pytest.mark.parametrize("package_name, algorithm_name", [("gtr_ppo", "GTRPPO"), ("gtr_ppo_recurrent", "RecurrentGTRPPO")])
def test_algorithm_packages_export_every_alias(package_name, algorithm_name):
    package = getattr(sb3_gtr, package_name)
    algorithm = getattr(package, algorithm_name)
    for alias, policy_class in algorithm.policy_aliases.items():
        assert alias in package.__all__, alias
        assert getattr(package, alias) is policy_class
        if policy_class.__module__.startswith("sb3_gtr"):
            # Every policy class of sb3-gtr that an alias names is exported by the top-level package too
            assert getattr(sb3_gtr, policy_class.__name__) is policy_class
            assert policy_class.__name__ in sb3_gtr.__all__


#: Files allowed over MAX_LINES because they hold one concept each.
ONE_CONCEPT = {"sb3_gtr.common.gtr_mixin": "the GTR update loop shared by both algorithms"}
MAX_LINES = 650


@pytest.mark.parametrize("module, path", MODULES, ids=[name for name, _ in MODULES])
def test_modules_stay_small(module, path):
    if module in ONE_CONCEPT:
        return
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    assert n_lines <= MAX_LINES, f"{module} has {n_lines} lines: split it by what it holds"


def test_the_advantage_mode_is_spelled_once():
    """``"advantage"`` (the advantage-weighted coefficient) is ``ADVANTAGE_WEIGHTED``, written in one place only."""
    spelled = [
        f"{module}:{node.lineno}"
        for module, path in MODULES
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value == "advantage"
    ]
    assert len(spelled) == 1 and spelled[0].startswith("sb3_gtr.common.trust_region:"), spelled
