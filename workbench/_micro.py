"""TFLite Micro's interpreter, run in a worker process (see ``workbench.targets.check_micro``).

The micro runtime is native code that can abort or segfault (it does, at arenas just short of
enough), so it runs where that cannot take the kernel down. This module is what runs there:
load a ``.tflite`` at a growing arena, run the samples, and find the smallest arena by
bisection. It knows nothing of the worker or the comparison.
"""

from __future__ import annotations

import re

import numpy as np

#: Arenas below this are never probed: TFLite Micro segfaults when its own bookkeeping does not fit.
SMALLEST_ARENA_PROBED = 1024

_ALLOCATION_FAILURE = re.compile(
    r"Failed to (allocate|resize)|missing: \d+|Arena size is too small|Too many buffers", re.I
)


def micro_task(content, inputs, first_arena, max_arena, find_arena=True):  # pragma: no cover -- worker
    """Worker side of :func:`check_micro`: load at a growing arena, run every sample, bisect."""
    from tflite_micro.python.tflite_micro import runtime

    from ._flatbuffer import read_model
    from ._native import captured_output

    output_count = read_model(content).Subgraphs(0).OutputsLength()

    def attempt(arena):
        refusal = ""
        with captured_output() as log:
            try:
                interpreter = runtime.Interpreter.from_bytes(content, arena_size=int(arena))
                invoke(interpreter, inputs[:1])
            except (RuntimeError, ValueError) as err:
                interpreter, refusal = None, f"{type(err).__name__}: {err}"
        # The Python binding's own refusal, when TFLite Micro itself printed nothing.
        printed = log[0] if log else ""
        return interpreter, printed if printed.strip() else refusal

    def invoke(interpreter, samples):
        """Every output, one array per output of the main subgraph, for all samples."""
        details = interpreter.get_input_details(0)
        shape, dtype = tuple(int(s) for s in details["shape"]), details["dtype"]
        # A sample of the input's whole shape (axis 0 not a batch, or a scalar) goes in as it is.
        whole = tuple(samples.shape[1:]) == shape
        batch = 1 if whole else (shape[0] or 1)
        outputs = [[] for _ in range(output_count)]
        for start in range(0, len(samples), batch):
            chunk = samples[start : start + batch]
            n = len(chunk)
            if n < batch:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch - n, axis=0)])
            interpreter.reset()  # variable tensors start afresh for every sample, as on LiteRT
            # np.array, not np.ascontiguousarray, which makes a scalar one-dimensional.
            interpreter.set_input(np.array(chunk[0] if whole else chunk, dtype=dtype, order="C"), 0)
            interpreter.invoke()
            for i in range(output_count):
                y = np.array(interpreter.get_output(i))
                # An output without a batch axis (shape (40,), a scalar) is one sample's values.
                one_sample = whole or (batch == 1 and (y.ndim == 0 or y.shape[0] != 1))
                outputs[i].append(y[None, ...] if one_sample else y[:n])
        return [np.concatenate(parts) for parts in outputs]

    arena = first_arena
    while True:
        interpreter, log = attempt(arena)
        # A kernel that refuses its tensors ("failed to prepare") is no shortage of memory, though
        # the binding then says it "failed to allocate tensors".
        allocation_failed = bool(_ALLOCATION_FAILURE.search(log)) and "failed to prepare" not in log
        if interpreter is not None or not allocation_failed or arena >= max_arena:
            break
        arena = min(arena * 8, max_arena)
    if interpreter is None:
        return {"runs": False, "log": log, "allocation_failed": allocation_failed}
    outputs = invoke(interpreter, inputs)
    with captured_output() as report:
        interpreter.print_allocations()
    recorded = re.search(r"Arena allocation total (\d+) bytes", report[0] if report else "")
    answer = {"runs": True, "outputs": outputs, "allocated": arena, "arena": None, "probes": 0}
    answer["recorded"] = int(recorded.group(1)) if recorded else None
    if find_arena:
        probe = lambda size: attempt(size)[0] is not None  # noqa: E731
        answer["arena"], answer["probes"] = smallest_arena(probe, arena, answer["recorded"])
    return answer


def smallest_arena(probe, works: int, recorded: int | None = None) -> tuple[int, int]:
    """The smallest arena for which ``probe(arena)`` is true, knowing it is for ``works``.

    Starts from the interpreter's own recorded total, brackets the answer between a size that
    fails and one that works, then bisects to the byte. Returns (arena, probes made).
    """
    probes = 0

    def check(size):
        nonlocal probes
        probes += 1
        return probe(size)

    floor = SMALLEST_ARENA_PROBED
    fails = floor - 1  # sizes below the floor are never probed and count as failing
    if recorded is not None and floor <= recorded < works:
        if check(recorded):
            works = recorded
        else:
            fails = recorded
    if fails < floor:  # step down from a working size until one fails
        low = max(floor, works * 9 // 10)
        while low < works and check(low):
            works, low = low, max(floor, low // 2)
        if low >= works:
            return works, probes
        fails = low
    else:  # the recorded total failed: step up until a size works
        high = fails
        while True:
            high = min(works, high + max(high // 4, 16))
            if high >= works:
                break
            if check(high):
                works = high
                break
            fails = high
    while works - fails > 1:
        middle = (works + fails) // 2
        if check(middle):
            works = middle
        else:
            fails = middle
    return works, probes
