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


def signal_window_tflite(audio_shape=(1, WINDOW), output_shape=(1, WINDOW)) -> bytes:
    """An audio front end's first stage, TFLite Micro's ``SignalWindow`` custom op on int16
    audio: ``out = (audio * window) >> shift``. LiteRT has no kernel for it. Front ends as
    shipped often declare an output with no batch axis: ``output_shape=(64,)``."""
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
        tensor("windowed", output_shape, 3),
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


def two_signature_tflite(directory, classify_key: str = "serving_default") -> bytes:
    """A float32 file with two signatures: ``serving_default`` (3 class scores; or the key given,
    for a file with no ``serving_default``) and ``embed``."""
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
    tf.saved_model.save(model, path, signatures={classify_key: model.classify, "embed": model.embed})
    converter = tf.lite.TFLiteConverter.from_saved_model(path, signature_keys=[classify_key, "embed"])
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
    far past the tensors (2**30): LiteRT (ai_edge_litert 2.x, XNNPACK) segfaults allocating it, while the
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
    blockwise.scales, blockwise.blockSize = 1 << 30, 32
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


def tf1_tflite(uint8: bool, seed: int = 0) -> bytes:
    """A TF1-era file from a frozen ``tf.compat.v1`` graph (conv, split, concat, dense, softmax),
    input ``[1, 8, 8, 1]``, with no signature: with ``uint8``, quantization-aware training's
    fake-quant ranges converted with ``inference_type=tf.uint8`` (as the quantized MobileNets of
    the TF1 model zoo were); otherwise float32."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(3, 3, 1, 4)).astype(np.float32) * 0.3
    dense = rng.normal(size=(256, 10)).astype(np.float32) * 0.05

    def fake(x, low, high):
        return tf1.quantization.fake_quant_with_min_max_args(x, low, high) if uint8 else x

    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [1, 8, 8, 1], name="input")
        conv = tf.nn.conv2d(fake(x, -1.0, 1.0), fake(tf.constant(kernel), -1.0, 1.0), [1, 1, 1, 1], "SAME")
        conv = fake(tf.nn.relu6(conv), 0.0, 6.0)
        left, right = tf.split(conv, 2, axis=3)
        flat = tf.reshape(fake(tf.concat([right, left], axis=3), 0.0, 6.0), [1, 256])
        logits = fake(tf.matmul(flat, fake(tf.constant(dense), -0.3, 0.3)), -8.0, 8.0)
        scores = fake(tf.nn.softmax(logits), 0.0, 1.0)
        out = tf.identity(scores, name="scores")
        with tf1.Session(graph=graph) as session:
            converter = tf1.lite.TFLiteConverter.from_session(session, [x], [out])
            if uint8:
                converter.inference_type = tf.uint8
                converter.quantized_input_stats = {"input": (127.5, 127.5)}
            return converter.convert()


ANCHORS = 8
DETECTIONS = 3


def detection_tflite() -> bytes:
    """The tail of a TF1 quantized SSD detector as the object detection API exported it: uint8
    box encodings and class logits (inputs here), a uint8 LOGISTIC, and the
    ``TFLite_Detection_PostProcess`` custom op reading them and its uint8 anchors, writing four
    float outputs: boxes, classes, scores and the number of detections."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT()
    model.version, model.description = 3, b"SSD post-processing, uint8 before it"
    codes = []
    for builtin, custom in (
        (schema.BuiltinOperator.LOGISTIC, None),
        (schema.BuiltinOperator.CUSTOM, b"TFLite_Detection_PostProcess"),
    ):
        code = schema.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = builtin
        code.customCode, code.version = custom, 1
        codes.append(code)
    model.operatorCodes = codes
    rng = np.random.default_rng(3)
    centres = rng.uniform(0.2, 0.8, (ANCHORS, 2))
    anchors = np.concatenate([centres, np.full((ANCHORS, 2), 0.3)], axis=1)
    buffers = [schema.BufferT() for _ in range(9)]
    buffers[4].data = list(np.round(anchors * 255).astype(np.uint8).tobytes())
    model.buffers = buffers

    def quantized(scale, zero_point):
        q = schema.QuantizationParametersT()
        q.scale, q.zeroPoint = [scale], [zero_point]
        return q

    f32, u8 = schema.TensorType.FLOAT32, schema.TensorType.UINT8
    graph = schema.SubGraphT()
    graph.tensors = [
        _tensor(schema, "box_encodings", (1, ANCHORS, 4), u8, 1, quantization=quantized(0.05, 128)),
        _tensor(schema, "class_logits", (1, ANCHORS, 3), u8, 2, quantization=quantized(0.1, 128)),
        _tensor(schema, "class_scores", (1, ANCHORS, 3), u8, 3, quantization=quantized(1 / 256, 0)),
        _tensor(schema, "anchors", (ANCHORS, 4), u8, 4, quantization=quantized(1 / 255, 0)),
        _tensor(schema, "detection_boxes", (1, DETECTIONS, 4), f32, 5),
        _tensor(schema, "detection_classes", (1, DETECTIONS), f32, 6),
        _tensor(schema, "detection_scores", (1, DETECTIONS), f32, 7),
        _tensor(schema, "num_detections", (1,), f32, 8),
    ]
    graph.inputs, graph.outputs = [0, 1], [4, 5, 6, 7]

    def op(code, inputs, outputs):
        o = schema.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = code, inputs, outputs
        return o

    post = op(1, [0, 2, 3], [4, 5, 6, 7])
    post.customOptions = list(
        flexbuffers.Dumps(
            {
                "max_detections": DETECTIONS,
                "max_classes_per_detection": 1,
                "detections_per_class": DETECTIONS,
                "use_regular_nms": False,
                "nms_score_threshold": 0.3,
                "nms_iou_threshold": 0.6,
                "num_classes": 2,
                "y_scale": 10.0,
                "x_scale": 10.0,
                "h_scale": 5.0,
                "w_scale": 5.0,
            }
        )
    )
    post.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
    graph.operators = [op(0, [1], [2]), post]
    model.subgraphs = [graph]
    return _pack(model)


def fused_lstm_tflite(seed: int = 0, stateful: bool = False) -> bytes:
    """A float32 LSTM from tf_keras with a batch of 1, input ``[1, 6, 4]``: the converter fuses it
    into UNIDIRECTIONAL_SEQUENCE_LSTM, whose state lives in variable tensors that LiteRT carries
    from one invocation to the next (a bare interpreter's second call sees the first's state).
    With ``stateful``, a stateful layer, whose state is in resource variables (ASSIGN_VARIABLE)."""
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(seed)
    model = tf_keras.Sequential(
        [
            tf_keras.layers.Input((6, 4), batch_size=1),
            tf_keras.layers.LSTM(8, stateful=stateful),
            tf_keras.layers.Dense(3),
        ]
    )
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


FRAMES, FEATURES_PER_FRAME, HISTORY, UNITS = 335, 80, 10, 16


def streaming_tflite(seed: int = 0) -> bytes:
    """A streaming speech model's shape: inputs ``frames (335, 80)`` and ``state (10, 16)``, whose
    axis 0 is time and history, not a batch; outputs ``logits (1, 4)`` and ``new_state (10, 16)``."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    w = rng.normal(size=(FEATURES_PER_FRAME, UNITS)).astype(np.float32) * 0.1
    v = rng.normal(size=(UNITS, 4)).astype(np.float32)

    class Model(tf.Module):
        @tf.function(
            input_signature=[
                tf.TensorSpec([FRAMES, FEATURES_PER_FRAME], tf.float32, name="frames"),
                tf.TensorSpec([HISTORY, UNITS], tf.float32, name="state"),
            ]
        )
        def serve(self, frames, state):
            pooled = tf.reduce_mean(tf.nn.relu(tf.matmul(frames, w)), axis=0, keepdims=True)
            new_state = tf.concat([state[1:], pooled], axis=0)
            return {
                "logits": tf.matmul(tf.reduce_mean(new_state, 0, keepdims=True), v),
                "new_state": new_state,
            }

    model = Model()
    return tf.lite.TFLiteConverter.from_concrete_functions(
        [model.serve.get_concrete_function()], model
    ).convert()


def streaming_oracle(frames: np.ndarray, state: np.ndarray, seed: int = 0) -> np.ndarray:
    """The streaming model's logits for one sample, in numpy."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(FEATURES_PER_FRAME, UNITS)).astype(np.float32) * 0.1
    v = rng.normal(size=(UNITS, 4)).astype(np.float32)
    pooled = np.maximum(frames @ w, 0).mean(axis=0, keepdims=True)
    return np.concatenate([state[1:], pooled]).mean(axis=0, keepdims=True) @ v


def scalar_loops_tflite() -> bytes:
    """A rank-0 input ``x`` through two nested while loops: ``y = 12 * x`` (4 outer × 3 inner)."""
    import tensorflow as tf

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.float32, name="x")])
        def serve(self, x):
            def outer(i, total):
                _, total = tf.while_loop(lambda j, a: j < 3, lambda j, a: (j + 1, a + x), [0, total])
                return i + 1, total

            _, y = tf.while_loop(lambda i, a: i < 4, outer, [0, tf.zeros([])])
            return {"y": y}

    model = Model()
    return tf.lite.TFLiteConverter.from_concrete_functions(
        [model.serve.get_concrete_function()], model
    ).convert()


def string_tflite(with_numbers: bool) -> bytes:
    """A file whose input is text, ``words (None,)`` strings: looked up in a hash table of three
    words (``ids``, int64; a strings-only file), and with ``with_numbers`` also a float input
    ``scale (None, 1)`` times the ids as floats."""
    import tensorflow as tf

    keys = tf.constant(["yes", "no", "up"])
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, tf.constant([0, 1, 2], tf.int64)), -1
    )

    class Model(tf.Module):
        def __init__(self):
            super().__init__()
            self.table = table

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
        def words(self, words):
            return {"ids": self.table.lookup(words)}

        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.string, name="words"),
                tf.TensorSpec([None, 1], tf.float32, name="scale"),
            ]
        )
        def mixed(self, words, scale):
            ids = tf.cast(self.table.lookup(words), tf.float32)[:, None]
            return {"scaled": ids * scale}

    model = Model()
    serve = (model.mixed if with_numbers else model.words).get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([serve], model)
    return converter.convert()
