import pytest

from workbench import MODE_NAMES, Mode, UnknownModeError, WorkbenchError
from workbench.modes import parse_modes


def test_the_five_modes_exist_in_order():
    assert MODE_NAMES == ("float32", "float16", "dynamic", "int8", "int16x8")


@pytest.mark.parametrize("name", MODE_NAMES)
def test_every_mode_prints_code_that_compiles(name):
    code = Mode(name).snippet()
    compile(code, f"<snippet {name}>", "exec")
    assert "tf.lite.TFLiteConverter.from_saved_model" in code
    assert ("representative_dataset" in code) == Mode(name).calibrated


def test_snippets_carry_each_modes_settings():
    assert "supported_types = [tf.float16]" in Mode("float16").snippet()
    assert "Optimize.DEFAULT" in Mode("dynamic").snippet()
    assert "Optimize" not in Mode("float32").snippet()
    int8 = Mode("int8").snippet()
    assert "TFLITE_BUILTINS_INT8" in int8 and "inference_input_type = tf.int8" in int8
    assert "inference_input_type" not in Mode("int8", io="float32").snippet()
    assert "ACTIVATIONS_INT16_WEIGHTS_INT8" in Mode("int16x8").snippet()


def test_unknown_mode_names_what_exists():
    with pytest.raises(UnknownModeError) as info:
        Mode("int4")
    message = str(info.value)
    assert "mode='int4'" in message
    for name in MODE_NAMES:
        assert name in message
    assert isinstance(info.value, WorkbenchError) and isinstance(info.value, ValueError)


def test_io_type_is_checked_per_mode():
    assert Mode("int8").io == "int8"
    assert Mode("int8", io="float32").label == "int8 (float32 io)"
    assert Mode.of("int8:uint8").io == "uint8"
    with pytest.raises(UnknownModeError, match="float16"):
        Mode("float16", io="int8")


def test_parse_modes_deduplicates_and_rejects_empty():
    assert [m.label for m in parse_modes(["int8", "int8", "float32"])] == ["int8", "float32"]
    assert parse_modes("dynamic") == [Mode("dynamic")]
    with pytest.raises(UnknownModeError, match="empty"):
        parse_modes([])
    with pytest.raises(UnknownModeError, match="a mode name"):
        Mode.of(8)
