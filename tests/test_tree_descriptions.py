"""``inspect``, ``Converted.summary()`` and the lens describe tree variants truly (issue 24).

Oracles: scikit-learn's own trees (``tree_.node_count``, ``tree_.max_depth``), and the
flatbuffer read directly with ``ai_edge_litert.schema_py_generated`` (never the workbench's
reader): the first operator, the node-row and leaf tables' types and shapes.
"""

from __future__ import annotations

import re

import pytest
from ai_edge_litert import schema_py_generated as schema
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

import workbench
from workbench.cli import main
from workbench.inspection import inspect_bytes


@pytest.fixture(scope="module")
def iris():
    return workbench.load_dataset("iris")


@pytest.fixture(scope="module")
def forest(iris):
    return RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(
        iris.X_train, iris.y_train
    )


def _tensors(content: bytes) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Every tensor of the main subgraph by name: its type name and shape, read directly."""
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    graph = schema.Model.GetRootAsModel(content, 0).Subgraphs(0)
    found = {}
    for t in range(graph.TensorsLength()):
        tensor = graph.Tensors(t)
        shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        found[tensor.Name().decode()] = (types[tensor.Type()], shape)
    return found


def _first_op(content: bytes) -> tuple[str, int]:
    """The first operator's builtin name and whether it reads the model's input."""
    model = schema.Model.GetRootAsModel(content, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    graph = model.Subgraphs(0)
    op = graph.Operators(0)
    code = model.OperatorCodes(op.OpcodeIndex())
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    return names[builtin], int(graph.InputsAsNumpy()[0]) in set(op.InputsAsNumpy().tolist())


def _numbers(text: str) -> tuple[int, int, int]:
    found = re.search(r"(\d+) trees, depth (\d+), ([\d,]+) nodes", text)
    assert found, text
    return int(found[1]), int(found[2]), int(found[3].replace(",", ""))


@pytest.mark.parametrize("mode, bits", [("static_wi8_ai8", 8), ("static_wi8_ai16", 16)])
def test_inspect_describes_a_forest_of_integer_trees(forest, iris, mode, bits):
    converted = workbench.convert(forest, mode, representative=iris.X_train[:30])
    text = inspect_bytes(converted.content).report()
    n_trees, depth, nodes = _numbers(text)
    assert n_trees == len(forest.estimators_)
    assert depth == max(e.tree_.max_depth for e in forest.estimators_)
    assert nodes == sum(e.tree_.node_count for e in forest.estimators_)
    assert f"{bits}-bit integer grid" in text
    op, reads_input = _first_op(converted.content)
    assert reads_input and f"first op ({op})" in text  # the input is quantized by the first op
    tensors = _tensors(converted.content)
    leaf_type, leaf_shape = next(v for k, v in tensors.items() if "leaf_values" in k)
    assert leaf_type == "INT8" and leaf_shape[1] == len(forest.classes_)
    assert f"{leaf_shape[0]} distinct rows of {leaf_shape[1]} int8 values" in text
    assert "class probabilities" in text  # a forest's leaves: each tree's share of the votes
    assert "tree ensemble" in converted.summary(runtimes=False)
    assert inspect_bytes(converted.content).mode == f"integer trees {bits}-bit"  # not "mixed int8"


def test_boosting_leaves_are_scores_and_the_cli_says_the_same(iris, tmp_path, capsys):
    wine = workbench.load_dataset("wine")
    boosted = GradientBoostingClassifier(n_estimators=10, max_depth=2, random_state=0)
    boosted.fit(wine.X_train, wine.y_train)
    converted = workbench.convert(boosted, "static_wi8_ai8", representative=wine.X_train[:30])
    path = converted.save(tmp_path / "boosted.tflite")
    assert main(["inspect", path]) == 0
    printed = capsys.readouterr().out
    n_trees, depth, nodes = _numbers(printed)
    trees = boosted.estimators_.ravel()
    assert n_trees == len(trees) == 30  # one tree per class per stage
    assert depth == max(t.tree_.max_depth for t in trees)
    assert nodes == sum(t.tree_.node_count for t in trees)
    assert "scores" in printed and "class probabilities" not in printed


def test_a_file_without_trees_says_nothing_of_trees(iris):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=500).fit(iris.X_train, iris.y_train)
    assert inspect_bytes(workbench.convert(model).content).trees == ()


def test_the_lens_says_a_tree_variant_has_no_layers_and_where_to_look(forest, iris):
    comparison = workbench.compare(forest, iris, modes=["static_wi8_ai8"], progress=False)
    with pytest.raises(workbench.WorkbenchError, match="tree ensemble") as caught:
        workbench.lens(comparison, "static_wi8_ai8")
    message = str(caught.value)
    assert f"{len(forest.estimators_)} trees" in message and "summary()" in message
    assert comparison.lenses == {}


def test_inspect_describes_exact_float32_trees(forest, iris):
    wine = workbench.load_dataset("wine")
    boosted = GradientBoostingClassifier(n_estimators=5, max_depth=3, random_state=0)
    boosted.fit(wine.X_train, wine.y_train)
    for model, trees in ((forest, forest.estimators_), (boosted, boosted.estimators_.ravel())):
        content = workbench.convert(model).content
        text = inspect_bytes(content).report()
        found = re.search(r"exact float32 trees\): (\d+) trees, depth (\d+)", text)
        assert found, text
        assert int(found[1]) == len(trees)
        assert int(found[2]) == max(t.tree_.max_depth for t in trees)
        leaves = next(v for k, v in _tensors(content).items() if "leaf_values" in k)
        assert leaves[0] == "FLOAT32" and f"{leaves[1][0]} distinct rows" in text
        assert "no grid" in text
        assert inspect_bytes(content).is_float32  # still the hub LiteRT Quantizer's recipes take


def test_an_isolation_forest_with_several_outputs_is_described_too():
    from sklearn.ensemble import IsolationForest

    wine = workbench.load_dataset("wine")
    model = IsolationForest(n_estimators=10, random_state=0).fit(wine.X_train)
    converted = workbench.convert(model, "static_wi8_ai8", representative=wine.X_train[:30])
    n_trees, depth, nodes = _numbers(inspect_bytes(converted.content).report())
    assert n_trees == len(model.estimators_)
    assert depth == max(e.tree_.max_depth for e in model.estimators_)
    assert nodes == sum(e.tree_.node_count for e in model.estimators_)


def test_two_ensembles_in_one_file_are_counted_not_mixed_up():
    from sklearn.ensemble import ExtraTreesClassifier, VotingClassifier

    wine = workbench.load_dataset("wine")
    members = [
        ("a", RandomForestClassifier(5, max_depth=3, random_state=0)),
        ("b", ExtraTreesClassifier(5, max_depth=3, random_state=0)),
    ]
    model = VotingClassifier(members, voting="soft").fit(wine.X_train, wine.y_train)
    trees = inspect_bytes(workbench.convert(model).content).trees
    assert len(trees) == 1 and trees[0].startswith("2 tree ensembles")
