"""Keras models as people have them: architectures nobody here designed, recurrent nets included."""

import numpy as np
import pytest

import workbench

pytestmark = pytest.mark.slow

CONVERTER_MODES = ("float32", "float16", "dynamic", "int8")
RECIPES = ("dynamic_wi8_afp32", "weight_only_wi8_afp32", "weight_only_wi4_afp32")


def _sequences(n=240, length=20, features=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, length, features)).astype(np.float32)
    y = (X[:, :, 0].mean(1) > 0).astype(int) + (X[:, :, 1].mean(1) > 0).astype(int)
    return X, y


def _trained(model, X, y):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=2, batch_size=32, verbose=0)
    return model


def recurrent_models():
    import keras

    L = keras.layers
    keras.utils.set_random_seed(0)  # the same nets every run: thresholds below meet one model
    X, y = _sequences()
    tokens = np.random.default_rng(1).integers(1, 200, size=(240, 24))
    token_labels = (tokens[:, :6].mean(1) > 100).astype(int)
    return {
        "lstm_text_with_embedding": (
            keras.Sequential(
                [
                    keras.Input((24,), dtype="int32"),
                    L.Embedding(200, 16),
                    L.LSTM(16),
                    L.Dense(2, activation="softmax"),
                ]
            ),
            tokens,
            token_labels,
        ),
        "conv1d_gru_sensor": (
            keras.Sequential(
                [
                    keras.Input((20, 8)),
                    L.Conv1D(8, 3, activation="relu"),
                    L.GRU(12),
                    L.Dense(3, activation="softmax"),
                ]
            ),
            X,
            y,
        ),
        "bidirectional_lstm": (
            keras.Sequential(
                [keras.Input((20, 8)), L.Bidirectional(L.LSTM(8)), L.Dense(3, activation="softmax")]
            ),
            X,
            y,
        ),
    }


@pytest.fixture(scope="module")
def recurrent():
    return {name: (_trained(m, X, y), X, y) for name, (m, X, y) in recurrent_models().items()}


@pytest.mark.parametrize("name", list(recurrent_models()))
def test_recurrent_models_convert_to_builtins_and_match_keras(recurrent, name):
    model, X, y = recurrent[name]
    data = workbench.Dataset.from_arrays(X, y, name=name)
    result = workbench.compare(
        model, data, modes=[*CONVERTER_MODES, *RECIPES], latency_budget=0.05, progress=False
    )
    table = result.table.set_index("variant")
    float32 = result.variants["float32"]
    assert "WHILE" in float32.ops and not any(op.startswith("Flex") for op in float32.ops)
    assert float32.inputs[0].shape[0] == 1  # a fixed batch of 1 is what makes them builtins
    reference = model.predict(data.X_test, verbose=0)
    scale = np.abs(reference).max()
    np.testing.assert_allclose(float32.predict(data.X_test), reference, atol=1e-4 * scale)
    assert table.loc["float32", "agreement"] == 1.0
    assert any("fixed batch of 1" in note and "loop over samples" in note for note in result.notes)
    for mode in ("float16", "dynamic", *RECIPES):
        error = table.loc[mode, "error"]
        assert error == "" or error.startswith("unchanged:"), (mode, error)
        if error == "":
            # 4-bit weights cost these small nets (trained two epochs) real agreement: 82% of the
            # 60 test sequences for the 12-unit GRU. 8- and 16-bit ones keep 90% or more.
            assert table.loc[mode, "agreement"] >= (0.75 if "wi4" in mode else 0.9), mode
    # Full-integer calibration of the loops: either it works, or the row names the layers and the way out.
    int8 = table.loc["int8", "error"]
    if int8:
        assert "recurrent layers" in int8 and "dynamic_wi8_afp32" in int8
        assert model.layers[-2].name in int8 or model.layers[1].name in int8


def test_a_recurrent_model_without_a_fixed_length_says_how_to_fix_it():
    import keras

    model = keras.Sequential([keras.Input((None, 8)), keras.layers.LSTM(4), keras.layers.Dense(2)])
    with pytest.raises(workbench.ModelLoadError, match="fixed sequence length") as info:
        workbench.convert(model)
    assert "(LSTM)" in info.value.received and "keras.Input((20, 8))" in info.value.fix


@pytest.mark.parametrize("application", ["MobileNetV3Small", "EfficientNetB0"])
def test_keras_applications_convert_and_match(application):
    """Architectures from keras.applications, built with weights=None (nothing is downloaded)."""
    import keras

    model = getattr(keras.applications, application)(weights=None, input_shape=(64, 64, 3), classes=5)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(4, 64, 64, 3)).astype(np.float32)
    float32 = workbench.convert(model, "float32")
    reference = np.asarray(model(x, training=False))
    np.testing.assert_allclose(float32.predict(x), reference, atol=1e-4 * np.abs(reference).max())
    assert float32.inputs[0].dynamic_batch
    # The recommended 8-bit recipe quantizes them without the converter.
    quantized = workbench.convert(model, "dynamic_wi8_afp32")
    assert quantized.size_bytes < 0.4 * float32.size_bytes
    assert (quantized.predict(x).argmax(1) == reference.argmax(1)).mean() >= 0.5
    # And every mode the converter has runs (untrained weights: the outputs are near-uniform, so
    # only the file and its running are checked here, not agreement).
    calibration = rng.uniform(0, 255, size=(8, 64, 64, 3)).astype(np.float32)
    for mode in ("float16", "dynamic", "int8"):
        variant = workbench.convert(model, mode, calibration)
        outputs = variant.predict(x)
        assert outputs.shape == reference.shape and np.isfinite(outputs).all(), mode
        assert variant.size_bytes < float32.size_bytes, mode


@pytest.fixture(scope="module")
def two_heads(digits):
    """A digit classifier with a second head that estimates the ink on the page."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((64,))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    digit = keras.layers.Dense(10, activation="softmax", name="digit")(hidden)
    ink = keras.layers.Dense(1, name="ink")(hidden)
    model = keras.Model(inputs, [digit, ink], name="two_heads")
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"])
    ink_target = digits.X_train.sum(1, keepdims=True) / 500
    model.fit(digits.X_train, [digits.y_train, ink_target], epochs=20, verbose=0)
    return model


def test_a_two_head_model_converts_with_every_head_by_name_in_keras_order(two_heads, digits):
    converted = workbench.convert(two_heads, "float32")
    assert converted.output_names == ("output_0", "output_1")
    heads = converted.predict(digits.X_test)
    assert list(heads) == ["output_0", "output_1"]  # never one head in place of the other
    digit, ink = two_heads.predict(digits.X_test, verbose=0)
    np.testing.assert_allclose(heads["output_0"], digit, atol=1e-5)
    np.testing.assert_allclose(heads["output_1"], ink, atol=1e-4 * np.abs(ink).max())
    assert converted.run(digits.X_test).shape == (len(digits.X_test), 10)  # the first head by default


def test_a_two_head_model_compares_with_the_head_the_user_names(two_heads, digits):
    result = workbench.compare(
        two_heads,
        digits,
        modes=["float32", "dynamic_wi8_afp32"],
        output="digit",
        latency_budget=0.05,
        progress=False,
    )
    table = result.table.set_index("variant")
    assert table.loc["original", "accuracy"] == pytest.approx(
        np.mean(two_heads.predict(digits.X_test, verbose=0)[0].argmax(1) == digits.y_test)
    )
    assert table.loc["float32", "agreement[ink]"] == 1.0 and table.loc["float32", "max_abs_diff[ink]"] < 1e-4
    assert 0 < table.loc["dynamic_wi8_afp32", "max_abs_diff[ink]"] < 0.5
    # The ink head is not a classifier of the digits: scoring it against them is refused, clearly.
    with pytest.raises(workbench.DataMismatchError, match="1 outputs per sample"):
        workbench.compare(two_heads, digits, modes=["float32"], output="ink", progress=False)
    with pytest.raises(workbench.DataMismatchError, match="'digit', 'ink'"):
        workbench.compare(two_heads, digits, modes=["float32"], output="colour", progress=False)


@pytest.fixture(scope="module")
def two_inputs(digits):
    """Pixels and a two-number summary of each image, through two inputs."""
    import keras

    keras.utils.set_random_seed(0)
    pixels = keras.Input((64,), name="pixels")
    summary = keras.Input((2,), name="summary")
    hidden = keras.layers.Concatenate()([keras.layers.Dense(24, activation="relu")(pixels), summary])
    digit = keras.layers.Dense(10, activation="softmax")(hidden)
    model = keras.Model([pixels, summary], digit, name="two_inputs")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    X = np.concatenate([digits.X_train, digits.X_test])
    y = np.concatenate([digits.y_train, digits.y_test])
    extra = np.stack([X.mean(1), X.std(1)], 1).astype(np.float32)
    model.fit({"pixels": X, "summary": extra}, y, epochs=15, verbose=0)
    return model, X, extra, y


def test_a_two_input_model_compares_end_to_end_by_name_and_by_order(two_inputs):
    model, X, extra, y = two_inputs
    by_name = workbench.Dataset.from_arrays({"summary": extra, "pixels": X}, y, name="two inputs")
    by_order = workbench.Dataset.from_arrays((X, extra), y, name="two inputs, in order")
    assert by_name.feature_shape == {"summary": (2,), "pixels": (64,)}
    modes = ["float32", "dynamic", "int8", "dynamic_wi8_afp32", "static_wi8_ai8"]
    tables = {}
    for data in (by_name, by_order):
        result = workbench.compare(model, data, modes=modes, latency_budget=0.05, progress=False)
        table = result.table.set_index("variant")
        assert (table["error"] == "").all(), table["error"]
        assert table.loc["float32", "agreement"] == 1.0 and table.loc["float32", "max_abs_diff"] < 1e-5
        assert (table.loc[modes[1:], "agreement"] > 0.9).all()
        tables[data.name] = table
    np.testing.assert_allclose(
        tables["two inputs"]["accuracy"].to_numpy(), tables["two inputs, in order"]["accuracy"].to_numpy()
    )
    int8 = result.variants["int8"]
    assert [t.dtype for t in int8.inputs] == ["int8", "int8"] and int8.input_names == ["pixels", "summary"]
    expected = model.predict({"pixels": X[:20], "summary": extra[:20]}, verbose=0)
    float32 = result.variants["float32"]
    np.testing.assert_allclose(
        float32.predict({"pixels": X[:20], "summary": extra[:20]}), expected, atol=1e-5
    )
    np.testing.assert_allclose(float32.predict([X[:20], extra[:20]]), expected, atol=1e-5)


def test_a_dataset_that_does_not_fit_the_models_inputs_says_which(two_inputs, digits):
    model, X, extra, y = two_inputs
    with pytest.raises(workbench.DataMismatchError, match="One array per model input: pixels, summary"):
        workbench.compare(model, digits, modes=["float32"], progress=False)
    with pytest.raises(
        workbench.DataMismatchError, match="'colour' not in the model|colour not in the model"
    ):
        workbench.compare(
            model, workbench.Dataset.from_arrays({"pixels": X, "colour": extra}, y), progress=False
        )
    with pytest.raises(workbench.DataMismatchError, match="input 'summary' with samples of shape"):
        workbench.compare(
            model, workbench.Dataset.from_arrays({"pixels": X, "summary": X}, y), progress=False
        )
    converted = workbench.convert(model, "float32")
    with pytest.raises(workbench.DataMismatchError, match="One array per input"):
        converted.predict(X[:3])
