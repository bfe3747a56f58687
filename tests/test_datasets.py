import numpy as np
import pandas as pd
import pytest

import workbench
from workbench import DATASET_NAMES, Dataset, DatasetError, RepresentativeDataError, load_dataset
from workbench.datasets import validate_representative


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_builtin_datasets_load_and_split_deterministically(name):
    first, second = load_dataset(name), load_dataset(name)
    np.testing.assert_array_equal(first.X_test, second.X_test)
    assert len(first.X_train) + len(first.X_test) > 100
    assert len(first.feature_names) == int(np.prod(first.feature_shape))
    assert first.metric == ("r2" if name == "diabetes" else "accuracy")


def test_classification_split_is_stratified(digits):
    train = np.bincount(digits.y_train) / len(digits.y_train)
    test = np.bincount(digits.y_test) / len(digits.y_test)
    assert np.abs(train - test).max() < 0.01
    assert digits.class_names == [str(i) for i in range(10)]


def test_digits_images_are_the_digits_reshaped(digits, digits_images):
    assert digits_images.feature_shape == (8, 8, 1)
    np.testing.assert_array_equal(digits_images.X_test.reshape(len(digits.X_test), 64), digits.X_test)


@pytest.mark.parametrize("strategy", ["random", "stratified", "first"])
def test_representative_samples_come_from_the_training_split(digits, strategy):
    picked = digits.representative(100, strategy=strategy)
    assert picked.shape == (100, 64) and picked.dtype == np.float32
    train_rows = {row.tobytes() for row in digits.X_train}
    assert all(row.tobytes() in train_rows for row in picked)


def test_stratified_representative_keeps_class_shares(digits):
    picked = digits.representative(200, strategy="stratified")
    index = {row.tobytes(): label for row, label in zip(digits.X_train, digits.y_train, strict=True)}
    counts = np.bincount([index[row.tobytes()] for row in picked], minlength=10)
    expected = np.bincount(digits.y_train) / len(digits.y_train) * 200
    assert np.abs(counts - expected).max() <= 1


def test_representative_is_capped_and_seeded(digits):
    assert len(digits.representative(10_000)) == len(digits.X_train)
    np.testing.assert_array_equal(digits.representative(50, seed=3), digits.representative(50, seed=3))
    assert not np.array_equal(digits.representative(50, seed=3), digits.representative(50, seed=4))
    with pytest.raises(RepresentativeDataError, match="strategy='best'"):
        digits.representative(10, strategy="best")
    with pytest.raises(RepresentativeDataError, match="n=0"):
        digits.representative(0)


def test_from_dataframe_and_csv_keep_names(tmp_path):
    df = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7, "label": np.arange(40) % 2})
    data = Dataset.from_dataframe(df, target="label")
    assert data.task == "classification" and data.feature_names == ["a", "b"]
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    from_csv = Dataset.from_csv(path, target="label")
    np.testing.assert_array_equal(from_csv.X_test, data.X_test)
    assert from_csv.name == "data"


def test_missing_target_column_lists_the_columns(tmp_path):
    df = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [0, 1, 0, 1]})
    with pytest.raises(DatasetError) as info:
        Dataset.from_dataframe(df, target="label")
    assert "target='label'" in str(info.value) and "a, b" in str(info.value)


def test_empty_and_broken_data_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="empty"):
        Dataset.from_arrays(np.zeros((0, 3)), np.zeros(0))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DatasetError, match="not a readable CSV"):
        Dataset.from_csv(empty, target="y")
    with pytest.raises(DatasetError, match="does not exist"):
        Dataset.from_csv(tmp_path / "missing.csv", target="y")
    with pytest.raises(DatasetError, match="non-numeric"):
        Dataset.from_dataframe(pd.DataFrame({"t": list("abcd"), "y": [0, 1, 0, 1]}), target="y")
    with pytest.raises(DatasetError, match="One target per sample"):
        Dataset.from_arrays(np.zeros((5, 2)), np.zeros(4))


def test_regression_is_detected_from_float_targets(diabetes):
    assert diabetes.task == "regression" and diabetes.classes is None
    data = Dataset.from_arrays(np.random.default_rng(0).normal(size=(50, 2)), np.linspace(0, 1, 50))
    assert data.task == "regression"


@pytest.mark.parametrize(
    "samples, message",
    [
        (None, "representative=None"),
        (np.zeros((10, 63)), r"shape \(64,\)"),
        (np.array([["a"] * 64] * 3), "Numeric samples"),
        (np.zeros((0, 64)), "empty"),
        (np.full((5, 64), np.nan), "NaN or inf in 5 sample"),
        (np.where(np.eye(4, 64) > 0, np.inf, 0.0), "NaN or inf in 4 sample"),
    ],
    ids=["none", "shape", "strings", "empty", "nan", "inf"],
)
def test_bad_representative_data_says_what_and_how(samples, message):
    with pytest.raises(RepresentativeDataError, match=message):
        validate_representative(samples, (64,))


def test_validation_does_not_modify_the_users_array():
    samples = np.arange(64 * 3, dtype=np.float64).reshape(3, 64)
    before = samples.copy()
    out = validate_representative(samples, (64,))
    out[:] = -1
    np.testing.assert_array_equal(samples, before)


def test_a_tf_data_dataset_feeds_compare_and_the_widget(digits_mlp, digits):
    import tensorflow as tf

    from workbench.ui.controller import Controller

    raw = workbench.load_dataset("digits")
    X = np.concatenate([raw.X_train, raw.X_test])
    y = np.concatenate([raw.y_train, raw.y_test])
    batched = tf.data.Dataset.from_tensor_slices((X, y)).batch(100)
    data = workbench.Dataset.from_tf_data(batched, name="digits via tf.data", progress=False)
    assert len(data.X_train) + len(data.X_test) == len(X) and data.n_classes == 10
    one_by_one = workbench.Dataset.from_tf_data(tf.data.Dataset.from_tensor_slices((X, y)), progress=False)
    np.testing.assert_array_equal(one_by_one.X_test, data.X_test)
    capped = workbench.Dataset.from_tf_data(batched, max_samples=250, progress=False)
    assert len(capped.X_train) + len(capped.X_test) == 250
    result = workbench.compare(
        digits_mlp, data, modes=["float32", "int8"], latency_budget=0.05, progress=False
    )
    assert (result.table["error"] == "").all() and result.table.iloc[0]["accuracy"] > 0.9
    # A tf.data dataset also calibrates directly, as TFLite's own docs write it.
    int8 = workbench.convert(digits_mlp, "int8", tf.data.Dataset.from_tensor_slices(X[:100]).batch(10))
    assert int8.inputs[0].dtype == "int8"
    controller = Controller(datasets={"digits via tf.data": batched})
    controller.update(
        model="digits_mlp", dataset="digits via tf.data", modes=("float32",), latency_budget=0.05
    )
    controller.run(wait=True)
    assert controller.state.error is None and list(controller.table()["variant"]) == ["original", "float32"]


def test_tf_data_without_labels_and_empty_sets_are_refused():
    import tensorflow as tf

    with pytest.raises(workbench.DatasetError, match="labels are what accuracy"):
        workbench.Dataset.from_tf_data(tf.data.Dataset.from_tensor_slices(np.zeros((10, 3))))
    with pytest.raises(workbench.DatasetError, match="empty"):
        workbench.Dataset.from_tf_data(tf.data.Dataset.from_tensor_slices((np.zeros((0, 3)), np.zeros(0))))
    with pytest.raises(workbench.DatasetError, match="max_samples"):
        workbench.Dataset.from_tf_data(
            tf.data.Dataset.from_tensor_slices((np.zeros((9, 3)), np.zeros(9))), max_samples=2
        )


def test_an_image_folder_feeds_compare(tmp_path, digits_cnn, digits_images):
    from PIL import Image

    raw = workbench.load_dataset("digits_images")
    images = np.concatenate([raw.X_train, raw.X_test]).astype(np.uint8)  # pixel values 0-16
    labels = np.concatenate([raw.y_train, raw.y_test])
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = tmp_path / "digits" / f"class_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[:, :, 0], mode="L").save(folder / f"{i:04d}.png")
    data = workbench.Dataset.from_directory(
        tmp_path / "digits", image_size=(8, 8), color_mode="grayscale", progress=False
    )
    assert data.feature_shape == (8, 8, 1) and data.class_names == [f"class_{k}" for k in range(10)]
    assert sorted(np.unique(data.X_train)) == list(range(17))  # the pixels, exactly
    result = workbench.compare(
        digits_cnn, data, modes=["float32", "weight_only_wi8_afp32"], latency_budget=0.05, progress=False
    )
    assert result.table.iloc[0]["accuracy"] > 0.9 and (result.table["error"] == "").all()


def test_image_folders_with_one_class_or_no_images_are_refused(tmp_path):
    (tmp_path / "one" / "cats").mkdir(parents=True)
    with pytest.raises(workbench.DatasetError, match="1 class folder"):
        workbench.Dataset.from_directory(tmp_path / "one", image_size=(8, 8))
    (tmp_path / "none" / "cats").mkdir(parents=True)
    (tmp_path / "none" / "dogs").mkdir(parents=True)
    (tmp_path / "none" / "dogs" / "notes.txt").write_text("no images here")
    with pytest.raises(workbench.DatasetError, match="image"):
        workbench.Dataset.from_directory(tmp_path / "none", image_size=(8, 8))
