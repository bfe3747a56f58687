"""Model files as they arrive from elsewhere, built here (no downloads): a keyword-spotting
style model with its batch of 1 fixed by constant reshapes, an LSTM with a fixed batch, an
audio front end made of TFLite Micro's Signal ops, a Keras 2 ``.h5``."""

from __future__ import annotations

import warnings

import flatbuffers
import numpy as np
from flatbuffers import flexbuffers

FEATURES = 1960  # 49 frames of 40 filterbank values, as the micro_speech model takes them
WINDOW = 64
SHIFT = 12


def keyword_tflite(int8: bool, samples: np.ndarray | None = None, seed: int = 0) -> bytes:
    """A small keyword-spotting style model, input ``[1, 1960]``: the batch of 1 is fixed in
    the graph by its constant RESHAPE shapes, as in most files made for microcontrollers."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(3, 3, 1, 8)).astype(np.float32) * 0.3
    dense = rng.normal(size=(25 * 20 * 8, 4)).astype(np.float32) * 0.01

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, FEATURES], tf.float32, name="input")])
        def serve(self, x):
            x = tf.reshape(x, [1, 49, 40, 1])
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, 2, "SAME"))
            x = tf.reshape(x, [1, -1])
            return {"output": tf.nn.softmax(tf.matmul(x, dense))}

    model = Model()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([model.serve.get_concrete_function()], model)
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([s[None]] for s in samples)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    return converter.convert()


def lstm_tflite(samples: np.ndarray) -> bytes:
    """An int8 LSTM classifier with input ``[1, 28, 28]`` (one fused UNIDIRECTIONAL_SEQUENCE_LSTM),
    converted from tf_keras as the reference microcontroller LSTMs are."""
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    model = tf_keras.Sequential(
        [
            tf_keras.layers.Input((28, 28), batch_size=1),
            tf_keras.layers.LSTM(16),
            tf_keras.layers.Dense(10, activation="softmax"),
        ]
    )
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([s[None]] for s in samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    return converter.convert()


def window_weights() -> np.ndarray:
    return (np.hanning(WINDOW) * (1 << SHIFT)).astype(np.int16)


def signal_window_tflite(audio_shape=(1, WINDOW)) -> bytes:
    """An audio front end's first stage, TFLite Micro's ``SignalWindow`` custom op on int16
    audio: ``out = (audio * window) >> shift``. LiteRT has no kernel for it."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT()
    model.version, model.description = 3, b"audio front end: SignalWindow"
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode, code.version = b"SignalWindow", 1
    model.operatorCodes = [code]
    buffers = [schema.BufferT() for _ in range(4)]
    buffers[2].data = list(window_weights().tobytes())
    model.buffers = buffers

    def tensor(name, shape, buffer):
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = name.encode(), list(shape), schema.TensorType.INT16, buffer
        return t

    graph = schema.SubGraphT()
    graph.tensors = [
        tensor("audio", audio_shape, 1),
        tensor("window", [WINDOW], 2),
        tensor("windowed", [1, WINDOW], 3),
    ]
    graph.inputs, graph.outputs = [0], [2]
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1], [2]
    op.customOptions = list(flexbuffers.Dumps({"shift": SHIFT}))
    op.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
    graph.operators = [op]
    model.subgraphs = [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def windowed(audio: np.ndarray) -> np.ndarray:
    """What SignalWindow computes, in numpy."""
    return ((audio.astype(np.int32) * window_weights()) >> SHIFT).astype(np.float32)


def keras2_h5(path, weights_path=None) -> None:
    """A MobileNet-style model (a DepthwiseConv2D, as Teachable Machine exports have) saved to
    ``.h5`` by tf_keras (Keras 2); Keras 3 refuses its ``groups`` key. With ``weights_path``,
    also its weights alone (``save_weights``)."""
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    layers = tf_keras.layers
    model = tf_keras.Sequential(
        [
            layers.Input((8, 8, 1)),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.DepthwiseConv2D(3, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf_keras calls .h5 legacy: such files are what this is about
        model.save(str(path))
    if weights_path is not None:
        model.save_weights(str(weights_path))


def two_signature_tflite(directory) -> bytes:
    """A float32 file with two signatures: ``serving_default`` (3 class scores) and ``embed``."""
    import tensorflow as tf

    weights = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def classify(self, x):
            return {"scores": tf.nn.softmax(tf.matmul(x, weights))}

        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def embed(self, x):
            return {"embedding": tf.nn.relu(x) * 2.0}

    model = Model()
    path = str(directory)
    tf.saved_model.save(model, path, signatures={"serving_default": model.classify, "embed": model.embed})
    converter = tf.lite.TFLiteConverter.from_saved_model(path, signature_keys=["serving_default", "embed"])
    return converter.convert()


def two_output_tflite() -> bytes:
    """A float32 file with two outputs: class ``scores`` and their ``logits``."""
    import tensorflow as tf

    weights = np.random.default_rng(1).normal(size=(64, 10)).astype(np.float32) * 0.3

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 64], tf.float32, name="pixels")])
        def serve(self, x):
            logits = tf.matmul(x, weights)
            return {"logits": logits, "scores": tf.nn.softmax(logits)}

    model = Model()
    return tf.lite.TFLiteConverter.from_concrete_functions(
        [model.serve.get_concrete_function()], model
    ).convert()


def _pack(model) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _tensor(schema, name, shape, dtype, buffer, **fields):
    t = schema.TensorT()
    t.name, t.shape, t.type, t.buffer = name.encode(), list(shape), dtype, buffer
    for key, value in fields.items():
        setattr(t, key, value)
    return t


def crashing_tflite() -> bytes:
    """A FULLY_CONNECTED with blockwise-quantized int4 weights whose scales tensor index points
    past the tensors: LiteRT (ai_edge_litert 2.x, XNNPACK) segfaults allocating it, while the
    flatbuffer itself parses. A file as a broken exporter might write one."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT()
    model.version, model.description = 3, b"blockwise int4 weights, scales out of range"
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.FULLY_CONNECTED
    code.version = 1
    model.operatorCodes = [code]
    buffers = [schema.BufferT() for _ in range(4)]
    buffers[2].data = list(np.arange(4 * 64, dtype=np.int8).tobytes())
    model.buffers = buffers
    blockwise = schema.BlockwiseQuantizationT()
    blockwise.scales, blockwise.blockSize = 99, 32
    quantization = schema.QuantizationParametersT()
    quantization.detailsType = schema.QuantizationDetails.BlockwiseQuantization
    quantization.details = blockwise
    graph = schema.SubGraphT()
    graph.tensors = [
        _tensor(schema, "x", (1, 64), schema.TensorType.FLOAT32, 1),
        _tensor(schema, "w", (4, 64), schema.TensorType.INT4, 2, quantization=quantization),
        _tensor(schema, "y", (1, 4), schema.TensorType.FLOAT32, 3),
    ]
    graph.inputs, graph.outputs = [0], [2]
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1, -1], [2]
    op.builtinOptionsType = schema.BuiltinOptions.FullyConnectedOptions
    op.builtinOptions = schema.FullyConnectedOptionsT()
    graph.operators = [op]
    model.subgraphs = [graph]
    return _pack(model)
