"""Run the cross-checks that a mapping entry declares, in a plain Python process.

This module never imports Sphinx: the build runs it as a subprocess
(``python -m mapsite.checker``) so that torch and mindspore are imported only
there, and authors can run it by hand on one page while writing an entry::

    python -m mapsite.checker source/catalogue/activations.md

Each case is a string of call arguments, for example ``"randn(2, 3), dim=1"``.
Array inputs are generated with a fixed seed and handed to both frameworks as
their own tensors; outputs are compared for structure, shape, dtype and value.

APIs whose effect is state rather than a return value are checked through a
fixed sequence of calls, run the same way on both sides. An entry declares at
most one of these forms (see ``case_form``):

* ``optimizer_steps: N``: each case is an optimizer's constructor arguments;
  the optimizer takes N steps with the same seeded gradients, and the
  parameters after the last step are compared.
* ``schedule: {lr, epochs, steps_per_epoch}``: each case is a learning-rate
  scheduler's arguments after the optimizer; the learning rate of every epoch
  is compared.
* ``inplace_grads: true``: the PyTorch function edits the ``.grad`` of the
  parameters it is given; its return value (if any) and those gradients are
  compared with what MindSpore returns for the gradients themselves.
* ``train: [true, ..., false]`` (a list): a layer is called once per item, in
  training or evaluation mode, keeping its state; all outputs are compared.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from mapsite import battery  # the standard probes every plain-call row faces
from mapsite.runner import FRAMEWORK_ENV

for _name, _value in FRAMEWORK_ENV.items():  # before MindSpore is imported (mapsite.runner says why)
    os.environ.setdefault(_name, _value)

FRAMEWORKS = ("torch", "mindspore")
DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-6


class EntryError(Exception):
    """A malformed entry: names the field that is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- inputs --------------------------------------------------------------


@dataclass(frozen=True)
class DType:
    """A dtype named once in a case and resolved per framework."""

    name: str

    def resolve(self, framework: str):
        module = __import__(framework)
        name = "bool" if (framework, self.name) == ("torch", "bool_") else self.name
        return getattr(module, name)


class Inputs:
    """The names a case string may use. Arrays come from one seeded generator."""

    def __init__(self, seed: int):
        import numpy as np

        self.np = np
        self.rng = np.random.default_rng(seed)

    def namespace(self) -> dict[str, Any]:
        np = self.np
        rng = self.rng
        names: dict[str, Any] = {
            "np": np,
            "randn": lambda *shape: rng.standard_normal(shape).astype(np.float32),
            "rand": lambda *shape: rng.random(shape).astype(np.float32),
            "randint": lambda low, high, shape: rng.integers(low, high, shape).astype(np.int64),
            "arange": lambda *a: np.arange(*a).astype(np.float32),
            "ones": lambda *shape: np.ones(shape, np.float32),
            "zeros": lambda *shape: np.zeros(shape, np.float32),
            "array": lambda values, dtype="float32": np.array(
                values, dtype=dtype.name if isinstance(dtype, DType) else dtype
            ),
        }
        for name in ("float16", "float32", "float64", "int32", "int64", "bool_"):
            names[name] = DType(name)
        return names


def _parse_call(text: str, names: dict[str, Any]) -> tuple[tuple, dict]:
    def collect(*args, **kwargs):
        return args, kwargs

    return eval(f"__collect({text})", {**names, "__collect": collect})


def to_framework(value: Any, framework: str) -> Any:
    """Turn numpy arrays (also inside lists and tuples) into the framework's tensors."""
    import numpy as np

    if isinstance(value, np.ndarray):
        if framework == "torch":
            import torch

            return torch.tensor(value)
        import mindspore

        return mindspore.Tensor(value)
    if isinstance(value, DType):
        return value.resolve(framework)
    if isinstance(value, list):
        return [to_framework(v, framework) for v in value]
    if isinstance(value, tuple):
        return tuple(to_framework(v, framework) for v in value)
    if isinstance(value, dict):
        return {k: to_framework(v, framework) for k, v in value.items()}
    return value


def to_plain(value: Any) -> Any:
    """Framework outputs to numpy arrays, tuples and Python scalars."""
    import numpy as np

    name = type(value).__module__ + "." + type(value).__qualname__
    if hasattr(value, "detach") and hasattr(value, "numpy") and name.startswith("torch"):
        return value.detach().cpu().numpy()
    if hasattr(value, "asnumpy"):
        return value.asnumpy()
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return np.asarray(value)
    if isinstance(value, (list, tuple)):  # also torch.Size and named tuples
        return tuple(to_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value


def describe(value: Any) -> str:
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"{value.dtype}{list(value.shape)}"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v) for v in value) + ")"
    return type(value).__name__ + " " + repr(value)


def compare(expected: Any, actual: Any, mode: str, rtol: float, atol: float) -> tuple[bool, str, float]:
    """Return (agree, reason, max abs difference) for a torch and a MindSpore output."""
    import numpy as np

    if isinstance(expected, tuple) or isinstance(actual, tuple):
        if not (isinstance(expected, tuple) and isinstance(actual, tuple)):
            return False, f"structure {describe(expected)} vs {describe(actual)}", float("nan")
        if len(expected) != len(actual):
            return False, f"{len(expected)} vs {len(actual)} elements", float("nan")
        worst = 0.0
        for index, (e, a) in enumerate(zip(expected, actual)):
            ok, reason, diff = compare(e, a, mode, rtol, atol)
            if not ok:
                return False, f"element {index}: {reason}", diff
            worst = max(worst, diff) if diff == diff else worst
        return True, "", worst
    if isinstance(expected, (bool, int, float, complex)) and not isinstance(actual, np.ndarray):
        if type(expected) is not type(actual) and not (
            isinstance(expected, (int, float)) and isinstance(actual, (int, float)) and not isinstance(actual, bool)
        ):
            return False, f"type {type(expected).__name__} vs {type(actual).__name__}", float("nan")
        diff = abs(float(expected) - float(actual))
        ok = bool(np.isclose(expected, actual, rtol=rtol, atol=atol, equal_nan=True))  # as for arrays
        return ok, "" if ok else f"value {expected!r} vs {actual!r}", diff
    if not isinstance(expected, np.ndarray) or not isinstance(actual, np.ndarray):
        if type(expected) is type(actual) and expected == actual:
            return True, "", 0.0
        return False, f"{describe(expected)} vs {describe(actual)}", float("nan")
    if expected.shape != actual.shape:
        return False, f"shape {list(expected.shape)} vs {list(actual.shape)}", float("nan")
    if expected.dtype != actual.dtype:
        return False, f"dtype {expected.dtype} vs {actual.dtype}", float("nan")
    if mode == "shape":
        return True, "", float("nan")  # values were not compared: show no difference figure
    if expected.size == 0:
        return True, "", 0.0
    e64 = expected.astype(np.float64)
    a64 = actual.astype(np.float64)
    if mode == "moments":
        diffs = [abs(e64.mean() - a64.mean()), abs(e64.std() - a64.std())]
        diff = float(max(diffs))
        ok = diff <= atol
        return ok, "" if ok else f"mean/std differ by {diff:.3g} > {atol}", diff
    with np.errstate(invalid="ignore", over="ignore"):   # inf - inf is a NaN difference, not a warning
        diff = float(np.max(np.abs(e64 - a64)))
    ok = bool(np.allclose(e64, a64, rtol=rtol, atol=atol, equal_nan=True))
    return ok, "" if ok else "values differ", diff


# --- resolving and calling --------------------------------------------------


def resolve(dotted: str) -> Any:
    """Import ``a.b.C.method`` by importing the longest module prefix, then getattr."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(f"no module named {parts[0]!r}")


def evaluate(expression: str, extra: dict[str, Any] | None = None) -> Any:
    """Evaluate a translation or composite expression with both frameworks in scope.

    ``extra`` adds names: an entry with ``schedule`` gives its ``lr``, ``epochs`` and
    ``steps_per_epoch``, which a per-step schedule needs and a PyTorch scheduler's
    arguments do not carry."""
    import numpy as np
    import torch
    import mindspore

    names = {"np": np, "torch": torch, "mindspore": mindspore, "ms": mindspore,
             "ops": mindspore.ops, "mint": mindspore.mint, "nn": mindspore.nn, **(extra or {})}
    return eval(expression, names)


def _is_module_class(obj: Any) -> bool:
    """torch.nn.Module and mindspore.nn.Cell classes are built from ``init``, then called."""
    if not isinstance(obj, type):
        return False
    names = {f"{getattr(base, '__module__', '')}.{base.__qualname__}" for base in obj.__mro__}
    return bool(names & {"torch.nn.modules.module.Module", "mindspore.nn.cell.Cell"})


def make_callable(target: Any, framework: str, entry: dict, field: str):
    """Classes are instantiated with the entry's ``init`` arguments and put in eval mode."""
    if not _is_module_class(target):
        return target
    init = entry.get("init", "")
    args, kwargs = _parse_call(init, Inputs(seed=1).namespace())
    try:
        instance = target(*to_framework(args, framework), **to_framework(kwargs, framework))
    except Exception as exc:  # noqa: BLE001 - reported with the field that caused it
        raise EntryError(field, f"cannot construct {target.__name__}({init}): {exc}") from exc
    modes = train_modes(entry)
    train = modes[0] if modes else bool(entry.get("train", False))
    if framework == "torch":
        instance.train(train)
    else:
        instance.set_train(train)
    return instance


def copy_weights(torch_module: Any, ms_cell: Any) -> None:
    """Give the MindSpore cell the torch module's trainable weights, in order."""
    import mindspore

    sources = [p for p in torch_module.parameters() if p.requires_grad]
    targets = list(ms_cell.trainable_params())
    if [tuple(p.shape) for p in sources] != [tuple(p.shape) for p in targets]:
        raise ValueError(
            "weights: copy needs the same trainable parameter shapes, got "
            f"{[tuple(p.shape) for p in sources]} and {[tuple(p.shape) for p in targets]}"
        )
    for source, target in zip(sources, targets):
        target.set_data(mindspore.Tensor(source.detach().numpy()))


def copy_weights_by_name(torch_module: Any, ms_cell: Any) -> None:
    """Give each trainable MindSpore parameter the torch parameter of the same name.

    For layers whose parameters are named alike but listed in another order (a stacked or
    bidirectional ``LSTM``), where ``copy_weights`` would pair the wrong tensors."""
    import mindspore

    sources = {name: p for name, p in torch_module.named_parameters() if p.requires_grad}
    targets = list(ms_cell.trainable_params())
    unmatched = [p.name for p in targets if p.name not in sources or tuple(sources[p.name].shape) != tuple(p.shape)]
    if unmatched or len(targets) != len(sources):
        raise ValueError(
            "weights: copy-by-name needs the same trainable parameter names and shapes, got "
            f"{sorted((n, tuple(p.shape)) for n, p in sources.items())} and "
            f"{sorted((p.name, tuple(p.shape)) for p in targets)}"
        )
    for target in targets:
        target.set_data(mindspore.Tensor(sources[target.name].detach().numpy()))


def seed_frameworks(seed: int) -> None:
    import mindspore
    import torch

    torch.manual_seed(seed)
    mindspore.set_seed(seed)


# --- stateful case forms ---------------------------------------------------------
#
# A plain case calls the API once and compares what it returns. Optimizers, schedulers,
# functions that edit gradients in place and layers with running statistics show their
# behaviour only over a sequence of calls; each form below runs that sequence identically
# on both sides and returns what is compared.

# ``program``: whole PyTorch and MindSpore programs instead of calls (mapsite.programs).
FORMS = ("optimizer_steps", "schedule", "inplace_grads", "program")


def case_form(entry: dict) -> str:
    """``"call"`` (one call per case), or the stateful form the entry declares."""
    forms = [name for name in FORMS if entry.get(name)]
    if len(forms) > 1:
        raise EntryError(forms[1], f"an entry has one case form, and {forms[0]} is already given")
    return forms[0] if forms else "call"


def train_modes(entry: dict) -> list[bool] | None:
    """``train: [true, true, false]``: call the layer once per mode (True: training)."""
    train = entry.get("train")
    return [bool(mode) for mode in train] if isinstance(train, list) else None


def _first_argument(args: tuple, kwargs: dict) -> tuple[int | str, Any]:
    """Where the parameters are: the first positional argument, else the first keyword one."""
    if args:
        return 0, args[0]
    if kwargs:
        name = next(iter(kwargs))
        return name, kwargs[name]
    raise EntryError("cases", "this case form needs the parameters as the first argument")


def _with_first(args: tuple, kwargs: dict, where: int | str, value: Any) -> tuple[tuple, dict]:
    if where == 0:
        return (value, *args[1:]), kwargs
    return args, {**kwargs, where: value}


def as_parameters(value: Any, framework: str, made: list, name: str | None = None) -> Any:
    """Turn the arrays of an optimizer's ``params`` argument into parameters, appended to ``made``.

    A list holds parameters; a dict of arrays names them (MindSpore calls them ``p0``, ``p1``,
    ... otherwise, and its nn optimizers choose what to decay by name); a dict with a
    ``params`` key is a parameter group. PyTorch receives a dict of arrays as a list.
    ``framework="numpy"`` returns the arrays, in the same order."""
    import numpy as np

    if isinstance(value, np.ndarray):
        if framework == "torch":
            import torch

            param = torch.nn.Parameter(torch.tensor(value))
        elif framework == "mindspore":
            import mindspore

            param = mindspore.Parameter(mindspore.Tensor(value), name=name or f"p{len(made)}")
        else:
            param = value
        made.append(param)
        return param
    if isinstance(value, dict) and "params" in value:
        return {key: as_parameters(item, framework, made) if key == "params" else to_framework(item, framework)
                for key, item in value.items()}
    if isinstance(value, dict):
        return [as_parameters(item, framework, made, str(key)) for key, item in value.items()]
    if isinstance(value, (list, tuple)):
        return [as_parameters(item, framework, made) for item in value]
    return to_framework(value, framework)


def run_optimizer(framework: str, factory: Any, args: tuple, kwargs: dict, grads: list[list]) -> tuple:
    """Build the optimizer from the case, take one step per entry of ``grads``, return the parameters.

    PyTorch's step reads ``.grad``; a MindSpore optimizer is called with the gradients."""
    where, first = _first_argument(args, kwargs)
    made: list = []
    params = as_parameters(first, framework, made)
    args, kwargs = _with_first(to_framework(args, framework), to_framework(kwargs, framework), where, params)
    optimizer = factory(*args, **kwargs)
    for step in grads:
        if framework == "torch":
            import torch

            for param, grad in zip(made, step):
                param.grad = torch.tensor(grad)
            optimizer.step()
        else:
            import mindspore

            optimizer(tuple(mindspore.Tensor(grad) for grad in step))
    return tuple(made)


def run_schedule(framework: str, make: Any, args: tuple, kwargs: dict, schedule: dict) -> tuple:
    """The learning rate of each epoch, from a scheduler built as ``make(optimizer, *case)``.

    The optimizer is SGD over one parameter with ``schedule["lr"]``: PyTorch's, or on the
    MindSpore side ``mindspore.experimental.optim.SGD`` (the optimizer family a scheduler
    object drives). Each epoch takes ``steps_per_epoch`` steps with a gradient of one, then
    steps the scheduler. A scheduler's rate is what its ``get_last_lr()[0]`` returns at the
    start of the epoch, as returned. Anything else that ``make`` returns (a per-step list, a
    ``LearningRateSchedule`` cell) is a ``learning_rate`` for ``mindspore.nn.SGD``; its rate
    is the step the parameter takes in the epoch's first step, as a Python float."""
    import numpy as np

    lr, epochs, steps_per_epoch = schedule["lr"], schedule["epochs"], schedule["steps_per_epoch"]
    if framework == "torch":
        import torch

        param = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([param], lr=lr)

        def step() -> None:
            param.grad = torch.ones(1)
            optimizer.step()
    else:
        import mindspore
        from mindspore.experimental import optim

        param = mindspore.Parameter(mindspore.Tensor(np.zeros(1, np.float32)), name="p0")
        optimizer = optim.SGD([param], lr=lr)

        def step() -> None:
            optimizer((mindspore.Tensor(np.ones(1, np.float32)),))
    scheduler = make(optimizer, *to_framework(args, framework), **to_framework(kwargs, framework))
    rates = []
    if hasattr(scheduler, "step") and hasattr(scheduler, "get_last_lr"):
        for _ in range(epochs):
            rates.append(scheduler.get_last_lr()[0])
            for _ in range(steps_per_epoch):
                step()
            scheduler.step()
        return tuple(rates)
    import mindspore

    value = mindspore.Parameter(mindspore.Tensor(np.zeros(1, np.float32)), name="p1")
    classic = mindspore.nn.SGD([value], learning_rate=scheduler)
    for _ in range(epochs):
        for index in range(steps_per_epoch):
            before = value.asnumpy()[0]
            classic((mindspore.Tensor(np.ones(1, np.float32)),))
            if index == 0:
                rates.append(float(before - value.asnumpy()[0]))
    return tuple(rates)


def run_inplace_grads(framework: str, fn: Any, args: tuple, kwargs: dict) -> Any:
    """PyTorch: the arrays of the first argument become the ``.grad`` of new parameters, which
    are passed instead; the result is the gradients after the call, after the return value
    when there is one. MindSpore has no ``.grad``: it is called with the gradients themselves
    and its return value is the result."""
    if framework != "torch":
        return fn(*to_framework(args, framework), **to_framework(kwargs, framework))
    import numpy as np
    import torch

    def with_grads(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            param = torch.nn.Parameter(torch.zeros(value.shape, dtype=torch.from_numpy(value).dtype))
            param.grad = torch.tensor(value)
            return param
        if isinstance(value, (list, tuple)):
            return type(value)(with_grads(item) for item in value)
        return to_framework(value, framework)

    def grads_of(value: Any) -> Any:
        if isinstance(value, torch.nn.Parameter):
            return value.grad
        if isinstance(value, (list, tuple)):
            return type(value)(grads_of(item) for item in value)
        return value

    where, first = _first_argument(args, kwargs)
    params = with_grads(first)
    args, kwargs = _with_first(to_framework(args, framework), to_framework(kwargs, framework), where, params)
    returned = fn(*args, **kwargs)
    return grads_of(params) if returned is None else (returned, grads_of(params))


def run_in_modes(framework: str, fn: Any, args: tuple, kwargs: dict, modes: list[bool]) -> tuple:
    """Call a layer once per mode (True: training, False: evaluation), keeping its state."""
    setter = "train" if framework == "torch" else "set_train"
    if not hasattr(fn, setter):
        raise EntryError("train", f"a list of modes needs a layer with {setter}(), got {fn!r}")
    outputs = []
    for mode in modes:
        getattr(fn, setter)(mode)
        outputs.append(fn(*args, **kwargs))
    return tuple(outputs)


def _driver(entry: dict, args: tuple, kwargs: dict, inputs: Inputs):
    """``drive(framework, fn)``: run one case on one side in the entry's form."""
    form = case_form(entry)
    modes = train_modes(entry)
    if modes is not None and form != "call":
        raise EntryError("train", f"a list of modes goes with plain cases, not with {form}")
    if form == "optimizer_steps":
        arrays: list = []
        as_parameters(_first_argument(args, kwargs)[1], "numpy", arrays)
        grads = [[inputs.rng.standard_normal(a.shape).astype(a.dtype) for a in arrays]
                 for _ in range(int(entry["optimizer_steps"]))]
        return lambda framework, fn: run_optimizer(framework, fn, args, kwargs, grads)
    if form == "schedule":
        return lambda framework, fn: run_schedule(framework, fn, args, kwargs, entry["schedule"])
    if form == "inplace_grads":
        return lambda framework, fn: run_inplace_grads(framework, fn, args, kwargs)

    def call(framework: str, fn: Any) -> Any:
        a, k = to_framework(args, framework), to_framework(kwargs, framework)
        return fn(*a, **k) if modes is None else run_in_modes(framework, fn, a, k, modes)

    return call


def run_case(entry: dict, case: str, seed: int, torch_fn: Any, ms_fn: Any) -> dict:
    """Call both sides on the same seeded inputs; return a JSON-able record."""
    inputs = Inputs(seed)
    args, kwargs = _parse_call(case, inputs.namespace())
    drive = _driver(entry, args, kwargs, inputs)
    record: dict[str, Any] = {"call": case}
    outputs = {}
    for framework, fn in (("torch", torch_fn), ("mindspore", ms_fn)):
        try:
            result = drive(framework, fn)
            outputs[framework] = to_plain(result)
            record[framework] = describe(outputs[framework])
        except EntryError:
            raise
        except Exception as exc:  # noqa: BLE001 - an exception is a finding, not a crash
            record[framework] = raised(exc)
    if len(outputs) < 2:
        record.update(agree=False, reason="call raised", max_diff=None)
        return record
    options = entry.get("compare", {})
    ok, reason, diff = compare(
        outputs["torch"],
        outputs["mindspore"],
        options.get("mode", "values"),
        float(options.get("rtol", DEFAULT_RTOL)),
        float(options.get("atol", DEFAULT_ATOL)),
    )
    record.update(agree=ok, reason=reason, max_diff=None if diff != diff else diff)
    return record


# What MindSpore says when an operator has no kernel for the device (checked on 2.10's CPU).
# MindSpore's ways of saying an operator cannot run on this device: the kernel registry's
# messages, kernel selection ("Unsupported op [X] on CPU", after a blank first line), kernel
# creation ("Create kernelmod for op X failed"), and Python-level guards of Ascend-only APIs.
MISSING_KERNEL = re.compile(
    r"kernel \w+ unregistered|Unsupported op|Not found op \w+ on device CPU|not supported on CPU"
    r"|Create kernelmod for op \w+ failed|only supports? Ascend|supports? Ascend only", re.I)


def raised(exc: BaseException) -> str:
    """How a case shows an exception: its first non-empty line, plus the line that says a kernel is
    missing when that comes later (kernel selection errors start with a blank line)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    kernel = next((line for line in lines[1:] if MISSING_KERNEL.search(line)), None)
    if kernel and not MISSING_KERNEL.search(text):
        text = f"{text} ... {kernel}"
    return f"raises {type(exc).__name__}: {text}"[:240]


def missing_kernel(outcome: str) -> bool:
    """Whether a case's MindSpore outcome is the failure of an operator with no CPU kernel."""
    return outcome.startswith("raises ") and bool(MISSING_KERNEL.search(outcome))


def check_equivalent(entry: dict, position: int) -> dict:
    """Check one equivalent of an entry against the PyTorch API."""
    if case_form(entry) == "program" or entry["equivalents"][position].get("program"):
        from mapsite import programs  # two programs, not calls: their own checks and statuses

        return programs.check_program(entry, position, sys.modules[__name__])
    equivalent = entry["equivalents"][position]
    field = f"equivalents[{position}]"
    status = equivalent["status"]
    result: dict[str, Any] = {
        "api": equivalent.get("api"),
        "status": status,
        "cases": [],
        "naive_cases": [],
    }
    try:
        torch_target = resolve(entry["pytorch"])
    except Exception as exc:  # noqa: BLE001
        raise EntryError("pytorch", f"{entry['pytorch']!r} does not import: {exc}") from exc
    api_target = None
    if equivalent.get("api"):
        try:
            api_target = resolve(equivalent["api"])
        except Exception as exc:  # noqa: BLE001
            raise EntryError(f"{field}.api", f"{equivalent['api']!r} does not import: {exc}") from exc
    cases = entry.get("cases") or []
    if not cases:
        raise EntryError("cases", "every entry needs cases: the checker executes each row's claim")
    # Optimizers and schedulers are built by the case itself, from its arguments.
    factory = case_form(entry) in ("optimizer_steps", "schedule")

    def build(target: Any, expression: str | None, key: str):
        if expression is not None:
            try:
                target = evaluate(expression, entry.get("schedule"))
            except Exception as exc:  # noqa: BLE001
                raise EntryError(f"{field}.{key}", f"{expression!r} does not evaluate: {exc}") from exc
        return target

    torch_expr = entry.get("torch")
    torch_base = build(torch_target, torch_expr, "torch")
    no_kernel = equivalent.get("cpu") == "no-kernel"
    if no_kernel:
        # It cannot run here: show that it still fails, and check what the note says to use instead.
        sides = [("naive_cases", api_target, None), ("cases", api_target, equivalent["translation"])]
    elif status == "consistent":
        sides = [("cases", api_target, equivalent.get("mindspore"))]
    elif status == "differs" and "translation" not in equivalent:
        sides = [("naive_cases", api_target, None)]  # a difference the battery alone finds
    elif status in ("renamed", "differs"):
        sides = [("naive_cases", api_target, None), ("cases", api_target, equivalent["translation"])]
    else:  # none: a composite stands in for the API
        sides = [("cases", None, equivalent["composite"])]

    for key, target, expression in sides:
        key_name = "composite" if status == "none" else ("mindspore" if status == "consistent" and not no_kernel
                                                         else "translation")
        ms_base = build(target, expression, key_name if expression else "api")
        for index, case in enumerate(cases):
            seed = 1234 + index
            seed_frameworks(seed)  # the same weights and random draws on every build
            torch_fn = torch_base if factory else make_callable(torch_base, "torch", entry, "pytorch")
            ms_fn = ms_base if factory else make_callable(ms_base, "mindspore", entry, f"{field}.api")
            if entry.get("weights") in ("copy", "copy-by-name"):
                try:
                    (copy_weights if entry["weights"] == "copy" else copy_weights_by_name)(torch_fn, ms_fn)
                except Exception as exc:  # noqa: BLE001
                    raise EntryError("weights", str(exc)) from exc
            try:
                result[key].append(run_case(entry, case, seed, torch_fn, ms_fn))
            except EntryError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise EntryError(f"cases[{index}]", f"{case!r}: {exc}") from exc

    # The standard battery (mapsite.battery) runs what the cases ran last: the row's own call,
    # translation or composite. battery.judge, in check_entry, holds the row to what it finds.
    result["battery"] = battery.run(entry, position, torch_base, ms_base, sys.modules[__name__])
    agreeing = all(c["agree"] for c in result["cases"])
    if no_kernel:
        # Every case must fail; a case may fail earlier, on an argument the API does not take.
        ran = [c for c in result["naive_cases"] if not c["mindspore"].startswith("raises ")]
        if ran:
            result["verdict"] = "fail"
            result["message"] = (
                f"{equivalent['api']} now runs on CPU (case {ran[0]['call']} returned {ran[0]['mindspore']}): verify "
                f"this entry: run it against {entry['pytorch']}, set the status the run supports and drop `cpu: no-kernel`")
            return result
        if not any(missing_kernel(c["mindspore"]) for c in result["naive_cases"]):
            result["verdict"] = "fail"
            result["message"] = (
                f"cpu: no-kernel, but no case of {equivalent['api']} fails for want of a kernel "
                f"({result['naive_cases'][0]['mindspore']}): give a case that reaches the kernel")
            return result
    elif status == "differs":
        naive_differs = any(not c["agree"] for c in result["naive_cases"])
        if not naive_differs and not battery.findings(result):
            result["verdict"] = "fail"
            result["message"] = (
                f"{equivalent['api']} now agrees with {entry['pytorch']} on every case and every battery probe: "
                "the documented difference has disappeared"
            )
            return result
        if naive_differs and "translation" not in equivalent:
            bad = next(c for c in result["naive_cases"] if not c["agree"])
            result["verdict"] = "fail"
            result["field"] = f"{field}.translation"
            result["message"] = (f"{equivalent['api']} differs on case ({bad['call']}): give the translation that "
                                 "agrees (only a row whose difference is a battery finding alone may omit it)")
            return result
    if agreeing:
        result["verdict"] = "pass"
    else:
        bad = next(c for c in result["cases"] if not c["agree"])
        result["verdict"] = "fail"
        target = equivalent.get("translation") or equivalent.get("composite") or equivalent["api"]
        result["message"] = (
            f"{target} does not match {entry['pytorch']} for ({bad['call']}): "
            f"{bad.get('reason') or ''} torch -> {bad['torch']}; mindspore -> {bad['mindspore']}"
        )
    return result


def signature_of(dotted: str) -> str | None:
    """``name(args)`` read from the installed package, without annotations."""
    import inspect

    try:
        obj = resolve(dotted)
        sig = inspect.signature(obj)
    except Exception:  # noqa: BLE001 - builtins without metadata, or not importable
        return None
    empty = inspect.Parameter.empty
    plain = sig.replace(
        parameters=[p.replace(annotation=empty) for p in sig.parameters.values()],
        return_annotation=empty,
    )
    return f"{dotted}{plain}"


def synchronous_mindspore() -> None:
    """Make MindSpore raise a kernel error at the failing call, not at a later one.

    By default PyNative launches operators asynchronously: a missing CPU kernel can
    surface at the next call's ``asnumpy()``, which would blame a correct translation.
    """
    import mindspore

    mindspore.set_context(pynative_synchronize=True)


def defaults_of(dotted: str) -> dict[str, Any] | None:
    """Parameter name -> default, read from the installed package (None if it has no signature)."""
    import inspect

    try:
        signature = inspect.signature(resolve(dotted))
    except Exception:  # noqa: BLE001 - builtins without metadata, or not importable
        return None
    return {name: p.default for name, p in signature.parameters.items() if p.default is not inspect.Parameter.empty}


def same_default(name: str, torch_default: Any, ms_default: Any) -> bool:
    if isinstance(torch_default, bool) or isinstance(ms_default, bool):
        return torch_default is ms_default
    if isinstance(torch_default, (int, float)) and isinstance(ms_default, (int, float)):
        return abs(torch_default - ms_default) <= 1e-12 * max(1.0, abs(torch_default))
    try:
        if torch_default is ms_default or bool(torch_default == ms_default):
            return True
    except Exception:  # noqa: BLE001 - objects that do not compare
        pass
    # PyTorch's dtype=None is its default dtype, float32 (what every case here runs with).
    return name == "dtype" and torch_default is None and repr(ms_default) in ("mindspore.float32", "Float32")


def default_differences(pytorch: str, api: str) -> list[dict] | None:
    """Parameters of the same name whose defaults differ, compared by introspection (None: not possible)."""
    torch_defaults, ms_defaults = defaults_of(pytorch), defaults_of(api)
    if torch_defaults is None or ms_defaults is None:
        return None
    def shown(value: Any) -> str:  # a function's repr names its address, which changes on every run
        return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))

    return [{"parameter": name, "torch": shown(torch_defaults[name]), "mindspore": shown(ms_defaults[name])}
            for name in sorted(set(torch_defaults) & set(ms_defaults))
            if not same_default(name, torch_defaults[name], ms_defaults[name])]


def check_defaults(entry: dict, position: int, result: dict) -> None:
    """A default that differs must be in the row's note; otherwise the row fails, naming both defaults."""
    equivalent = entry["equivalents"][position]
    if not equivalent.get("api") or equivalent["status"] == "none":
        return
    differences = default_differences(entry["pytorch"], equivalent["api"])
    if differences is None:
        return
    result["defaults"] = differences
    unmentioned = [d for d in differences if d["parameter"] not in equivalent.get("note", "")]
    if unmentioned and result.get("verdict") == "pass":
        first = unmentioned[0]
        result["verdict"] = "fail"
        result["field"] = f"equivalents[{position}].note"
        result["message"] = (
            f"the default of {first['parameter']} differs (PyTorch {first['torch']}, {equivalent['api']} "
            f"{first['mindspore']}) and the note does not mention {first['parameter']}")


def check_entry(entry: dict) -> dict:
    apis = [entry.get("pytorch")] + [eq.get("api") for eq in entry.get("equivalents", [])]
    signatures = {api: signature_of(api) for api in apis if api}
    results = []
    for position in range(len(entry.get("equivalents", []))):
        try:
            results.append(check_equivalent(entry, position))
            check_defaults(entry, position, results[-1])
            battery.judge(entry, position, results[-1])
        except EntryError as exc:
            results.append({"verdict": "error", "field": exc.field, "message": exc.message,
                            "api": entry["equivalents"][position].get("api")})
        except Exception:  # noqa: BLE001
            results.append({"verdict": "error", "field": f"equivalents[{position}]",
                            "message": traceback.format_exc(limit=3)})
    return {"pytorch": entry.get("pytorch"), "signatures": signatures, "equivalents": results}


# --- command line -------------------------------------------------------------

MAPPING_BLOCK = re.compile(r"^(`{3,})\{mapping\}[^\n]*\n(.*?)^\1\s*$", re.S | re.M)


def entries_in_page(path: str) -> list[dict]:
    import yaml

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return [yaml.safe_load(match.group(2)) for match in MAPPING_BLOCK.finditer(text)]


def timed_check(entry: dict) -> dict:
    """check_entry, with the seconds it took (make bench reports them per entry)."""
    import time

    started = time.perf_counter()
    report = check_entry(entry)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def main(argv: list[str]) -> int:
    """``--json`` reads a JSON list of entries on stdin and writes one JSON report per line to
    stdout, after a first line saying the frameworks imported; each line is flushed as soon as
    its entry is checked, so if a native crash kills the process, the caller knows which entry
    it was in. Otherwise check the mapping blocks of the given pages and print a report."""
    synchronous_mindspore()
    if argv[:1] == ["--json"]:
        import torch  # noqa: F401 - imported before "ready", so an import failure is told from a crash

        entries = json.load(sys.stdin)
        print(json.dumps({"ready": True}), flush=True)
        for entry in entries:
            print(json.dumps(timed_check(entry)), flush=True)
        return 0
    failed = 0
    for path in argv:
        for entry in entries_in_page(path):
            report = check_entry(entry)
            for eq in report["equivalents"]:
                mark = {"pass": "ok  "}.get(eq["verdict"], "FAIL")
                failed += mark == "FAIL"
                print(f"{mark} {entry['pytorch']} -> {eq.get('api')} [{eq.get('status', '?')}]")
                if eq.get("message"):
                    print(f"       {eq.get('field', '')} {eq['message']}")
                for key in ("naive_cases", "cases"):
                    for case in eq.get(key, []):
                        flag = "=" if case["agree"] else "!"
                        label = "naive" if key == "naive_cases" else "     "
                        print(f"     {label} {flag} ({case['call']}) torch {case['torch']} | ms {case['mindspore']}"
                              + (f" | {case['reason']}" if case.get("reason") else ""))
                for probe in eq.get("battery") or []:  # = agrees, ! finding, - not applicable
                    flag = {"agree": "=", "finding": "!"}.get(probe["verdict"], "-")
                    print(f"     probe {flag} {probe['probe']}: {probe['call']} | torch {probe['torch']} | ms {probe['mindspore']}"
                          + (f" | {probe['reason']}" if probe.get("reason") else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
