"""Migration report for a PyTorch program: which PyTorch APIs it uses, and what the site says about each.

    .venv/bin/python -m mapsite.scan train.py src/          (or: make scan PATHS="train.py src/")

The program is read with ``ast`` and never executed. Standard library only: neither Sphinx, torch
nor mindspore is imported, so the scan starts at once and runs where neither framework is installed.

What counts as a use of a PyTorch API
-------------------------------------
* A name bound by an import of ``torch`` (``import torch.nn as nn``, ``from torch import nn, optim``,
  ``from torch.optim.lr_scheduler import StepLR``...) followed by an attribute chain: the whole
  chain is one use (``nn.functional.relu`` is ``torch.nn.functional.relu``, not also ``torch.nn``).
  A module on its own (``F = torch.nn.functional``) is an alias, not a use.
* A name re-bound to a torch object (``act = F.relu``) resolves at every later use; the assignment
  itself is also a use. Re-binding the name to anything else (``F = other``) ends that.
  Statements run in order; after ``if``/``try``/loops a name keeps a torch binding that any branch
  gave it (``try: import torch`` / ``except ImportError: torch = None`` still means torch).
  Function bodies are read after the code around them, with the names it leaves bound.
* Decorators, base classes, context managers, annotations and default values are uses like any other.
* Methods of ``torch.Tensor`` are reported (as ``torch.Tensor.<name>``) when the receiver is known to be
  a tensor: assigned from a torch call that returns one (``torch.randn``, ``F.relu``, a tensor method,
  calling a ``torch.nn`` layer), annotated ``torch.Tensor``, or a parameter annotated so. On any other
  receiver, a method name the catalogue knows as a Tensor method is listed apart, as a possible one.
* Members used on instances of torch classes (``opt = optim.SGD(...)``; ``opt.step()``) are reported as
  ``torch.optim.SGD.step``; on an instance of the program's own ``nn.Module`` subclass, a member the
  class does not define is reported on its torch base (``model.parameters()``: ``torch.nn.Module.parameters``).
* Names inside strings and comments never count.

Exit statuses are listed in ``--help`` (EXIT_STATUSES below).
"""

from __future__ import annotations

import argparse
import ast
import gc
import html
import io
import json
import os
import shutil
import sys
import textwrap
import time
import tokenize
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent.parent
DEFAULT_MAPPINGS = PROJECT / "_build" / "html" / "mappings.json"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "scan-report.schema.json"
SCHEMA_VERSION = 1
ROOTS = frozenset({"torch"})   # top-level packages whose APIs are reported

EXIT_OK, EXIT_FILE_ERRORS, EXIT_USAGE, EXIT_CATALOGUE = 0, 1, 2, 3
EXIT_STATUSES = f"""\
exit statuses:
  {EXIT_OK}  every file was scanned
  {EXIT_FILE_ERRORS}  the report was written, but some files could not be scanned: a syntax error,
     not UTF-8, a binary file or an unreadable file (each is named on stderr and in the report)
  {EXIT_USAGE}  a path does not exist, a folder holds no Python files, the command line is wrong
     or an output cannot be written (the report of the other paths is still written)
  {EXIT_CATALOGUE}  the catalogue (mappings.json) is missing or unreadable: run `make html`
"""

# Status order and labels. The catalogue's statuses are read from the data: one this table does
# not know is still counted, labelled with its own name and ordered after the known ones.
STATUS_ORDER = {"consistent": 0, "renamed": 1, "differs": 2, "none": 3}
STATUS_LABELS = {"consistent": "consistent", "renamed": "renamed", "differs": "differs", "none": "no direct equivalent"}
NO_CHANGE = frozenset({"consistent"})       # statuses whose uses need no change at all
UNCOVERED_LABEL = "not on the site yet"

# Modules of torch: used on their own they are aliases, not APIs. Modules named by an
# `import` statement in the scanned file are added per file.
TORCH_MODULES = frozenset("""
torch torch.nn torch.nn.functional torch.nn.init torch.nn.utils torch.nn.utils.rnn torch.nn.utils.parametrize
torch.nn.utils.prune torch.nn.parallel torch.nn.modules torch.nn.parameter torch.nn.attention torch.optim
torch.optim.lr_scheduler torch.optim.swa_utils torch.utils torch.utils.data torch.utils.checkpoint
torch.utils.tensorboard torch.utils.hooks torch.cuda torch.cuda.amp torch.amp torch.cpu torch.mps torch.autograd
torch.autograd.functional torch.linalg torch.fft torch.special torch.sparse torch.masked torch.nested
torch.distributed torch.distributions torch.jit torch.onnx torch.backends torch.backends.cudnn torch.backends.mps
torch.backends.cuda torch.multiprocessing torch.random torch.testing torch.hub torch.quantization torch.ao
torch.export torch.func torch.compiler torch.profiler torch.fx torch.overrides torch.types torch.library
torch.signal torch.futures torch.package torch.monitor torch.xpu
""".split())

# Calls whose result is a tensor: functions of these namespaces (lower-case names), except those
# listed in NOT_TENSOR_FUNCTIONS; and these classes.
TENSOR_FUNCTION_NAMESPACES = frozenset({
    "torch", "torch.nn.functional", "torch.nn.init", "torch.linalg", "torch.fft", "torch.special", "torch.Tensor",
})
NOT_TENSOR_FUNCTIONS = frozenset("""
device manual_seed seed initial_seed save load no_grad enable_grad inference_mode set_grad_enabled is_grad_enabled
is_inference_mode_enabled is_tensor is_storage is_floating_point is_complex is_nonzero is_same_size numel
get_default_dtype set_default_dtype set_default_device get_default_device set_default_tensor_type set_printoptions
compile use_deterministic_algorithms are_deterministic_algorithms_enabled set_num_threads get_num_threads
set_num_interop_threads get_num_interop_threads set_rng_state set_float32_matmul_precision
get_float32_matmul_precision autocast typename finfo iinfo result_type promote_types can_cast equal allclose
broadcast_shapes set_anomaly_enabled is_anomaly_enabled get_device item tolist dim ndimension nelement
element_size size backward stride data_ptr is_contiguous register_hook numpy
""".split())
TENSOR_CLASSES = frozenset({
    "torch.Tensor", "torch.FloatTensor", "torch.DoubleTensor", "torch.HalfTensor", "torch.BFloat16Tensor",
    "torch.LongTensor", "torch.IntTensor", "torch.ShortTensor", "torch.CharTensor", "torch.ByteTensor",
    "torch.BoolTensor", "torch.nn.Parameter", "torch.nn.parameter.Parameter",
})
# Tensor methods and attributes whose result is not a tensor (anything else on a tensor gives one).
NOT_TENSOR_MEMBERS = frozenset("""
item tolist numpy size dim ndimension ndim numel nelement element_size backward stride data_ptr is_contiguous
is_floating_point is_complex get_device register_hook storage untyped_storage shape dtype device layout
requires_grad is_leaf is_cuda is_sparse names equal grad_fn
""".split())
# Methods of nn.Module that define an attribute by name.
REGISTERING = frozenset({"register_buffer", "register_parameter", "add_module", "register_module"})
# Methods of a module or optimizer instance that return the instance itself.
CHAINING_METHODS = frozenset(
    "to cuda cpu train eval float double half bfloat16 requires_grad_ type share_memory".split())

REF, TENSOR_KIND, INST, CLASS, OTHER, TUPLE = range(6)
TENSOR = (TENSOR_KIND, None)
OTHER_VALUE = (OTHER, None)
MISSING = object()
KNOWN, POSSIBLE = "known", "possible"


class UserClass:
    """A class the scanned program defines: its torch base, if any, its own base classes, and the
    attributes it defines (in its body, on `self` in its methods, or registered by name)."""

    __slots__ = ("name", "base", "bases", "attrs")

    def __init__(self, name: str, base: str | None, bases: list[UserClass]):
        self.name, self.base, self.bases, self.attrs = name, base, bases, {}

    def find(self, attr: str):
        value = self.attrs.get(attr, MISSING)
        if value is MISSING:
            for base in self.bases:
                value = base.find(attr)
                if value is not MISSING:
                    break
        return value


class Scope:
    __slots__ = ("names", "parent", "is_class")

    def __init__(self, parent: Scope | None, is_class: bool = False):
        self.names: dict = {}
        self.parent = parent
        self.is_class = is_class


@dataclass
class Use:
    api: str        # dotted path as resolved, e.g. torch.nn.functional.relu or torch.Tensor.view
    line: int
    column: int     # 1-based
    receiver: str   # KNOWN, or POSSIBLE for a Tensor method on a receiver not known to be a tensor


class FileScanner:
    """Walks one module's syntax tree in execution order, tracking what each name is bound to."""

    def __init__(self, tensor_methods: frozenset[str] = frozenset(), known_apis: frozenset[str] = frozenset()):
        self.tensor_methods = tensor_methods
        self.known_apis = known_apis   # only for names brought in by `from torch... import *`
        self.uses: list[Use] = []
        self.modules = set(TORCH_MODULES)
        self.stars: list[str] = []
        self.pending: deque[tuple] = deque()
        self.inherited: list[tuple] = []   # (class, attribute, node): a use unless the class defines it
        self.scope = Scope(None)
        self._stmt_handlers = {
            ast.Import: self._import, ast.ImportFrom: self._import_from, ast.Assign: self._assign,
            ast.AnnAssign: self._ann_assign, ast.AugAssign: self._aug_assign, ast.Expr: self._expr_stmt,
            ast.Return: self._expr_stmt, ast.If: self._if, ast.For: self._for, ast.AsyncFor: self._for,
            ast.While: self._while, ast.With: self._with, ast.AsyncWith: self._with, ast.Try: self._try,
            ast.FunctionDef: self._function_def, ast.AsyncFunctionDef: self._function_def,
            ast.ClassDef: self._class_def, ast.Delete: self._delete, ast.Match: self._match,
            ast.Pass: _skip, ast.Break: _skip, ast.Continue: _skip, ast.Global: _skip, ast.Nonlocal: _skip,
        }
        if hasattr(ast, "TryStar"):
            self._stmt_handlers[ast.TryStar] = self._try
        self._expr_handlers = {
            ast.Name: self._name, ast.Attribute: self._attribute, ast.Call: self._call,
            ast.Subscript: self._subscript, ast.BinOp: self._binop, ast.UnaryOp: self._unaryop,
            ast.Compare: self._compare, ast.IfExp: self._ifexp, ast.Tuple: self._sequence, ast.List: self._sequence,
            ast.Constant: _other, ast.Dict: self._literal, ast.Set: self._literal, ast.JoinedStr: self._literal,
            ast.Lambda: self._lambda, ast.ListComp: self._comprehension,
            ast.SetComp: self._comprehension, ast.GeneratorExp: self._comprehension,
            ast.DictComp: self._comprehension, ast.NamedExpr: self._named_expr,
        }

    # -- driving ---------------------------------------------------------------------------
    def run(self, tree: ast.Module) -> list[Use]:
        self._body(tree.body)
        while self.pending:   # function bodies, after the code that defines them (FIFO: source order)
            self._function_body(*self.pending.popleft())
        for cls, attr, node in self.inherited:   # every method has been read: is it the class's own?
            if cls.find(attr) is MISSING:
                self._record(f"{cls.base}.{attr}", node)
        self.uses.sort(key=lambda u: (u.line, u.column))
        return self.uses

    def _record(self, api: str, node: ast.AST, receiver: str = KNOWN) -> None:
        if isinstance(node, ast.Attribute):   # where the attribute's name is, for chains over several lines
            line, column = node.end_lineno, node.end_col_offset - len(node.attr) + 1
        else:
            line, column = node.lineno, node.col_offset + 1
        self.uses.append(Use(api, line, column, receiver))

    def _is_module(self, path: str) -> bool:
        return path in self.modules

    # -- names -----------------------------------------------------------------------------
    def _lookup(self, name: str):
        scope = self.scope
        value = scope.names.get(name, MISSING)
        if value is not MISSING:
            return value
        scope = scope.parent
        while scope is not None:
            if not scope.is_class:   # a class body's names are not visible in its methods
                value = scope.names.get(name, MISSING)
                if value is not MISSING:
                    return value
            scope = scope.parent
        for module in self.stars:
            candidate = f"{module}.{name}"
            if candidate in self.known_apis:
                return (REF, candidate)
        return None

    def _bind(self, target: ast.AST, value) -> None:
        kind = type(target)
        if kind is ast.Name:
            self.scope.names[target.id] = value
        elif kind is ast.Tuple or kind is ast.List:
            elements = target.elts
            if value is not None and value[0] == TUPLE and len(value[1]) == len(elements) \
                    and not any(isinstance(e, ast.Starred) for e in elements):
                for element, item in zip(elements, value[1]):
                    self._bind(element, item)
            else:
                item = TENSOR if value is TENSOR else None   # unpacking a tensor (torch.max, chunk) gives tensors
                for element in elements:
                    self._bind(element, item)
        elif kind is ast.Attribute:
            base = self._expr(target.value, not isinstance(target.value, (ast.Name, ast.Attribute)))
            if base is not None and base[0] == INST and isinstance(base[1], UserClass):
                base[1].attrs[target.attr] = value
            else:
                self._member(base, target, True)
        elif kind is ast.Subscript:
            self._expr(target.value)
            self._expr(target.slice)
        elif kind is ast.Starred:
            self._bind(target.value, None)

    # -- statements ------------------------------------------------------------------------
    def _body(self, statements: list[ast.stmt]) -> None:
        handlers = self._stmt_handlers
        for statement in statements:
            handler = handlers.get(type(statement))
            if handler is None:
                self._generic(statement)
            else:
                handler(statement)

    def _generic(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child)
            elif isinstance(child, ast.stmt):
                self._body([child])
            else:
                self._generic(child)

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            root = alias.name.partition(".")[0]
            if root in ROOTS:
                parts = alias.name.split(".")
                self.modules.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
                if alias.asname:
                    self.scope.names[alias.asname] = (REF, alias.name)
                else:
                    self.scope.names[root] = (REF, root)
            else:
                self.scope.names[alias.asname or root] = OTHER_VALUE

    def _import_from(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        torch = node.level == 0 and module.partition(".")[0] in ROOTS
        for alias in node.names:
            if alias.name == "*":
                if torch:
                    self.stars.append(module)
                continue
            self.scope.names[alias.asname or alias.name] = (REF, f"{module}.{alias.name}") if torch else OTHER_VALUE

    def _assign(self, node: ast.Assign) -> None:
        value = self._expr(node.value)
        for target in node.targets:
            self._bind(target, value)

    def _ann_assign(self, node: ast.AnnAssign) -> None:
        tensor = self._annotation(node.annotation)
        value = self._expr(node.value) if node.value is not None else MISSING
        if tensor:
            value = TENSOR
        if value is not MISSING:
            self._bind(node.target, value)
        elif not isinstance(node.target, ast.Name):
            self._bind(node.target, None)

    def _aug_assign(self, node: ast.AugAssign) -> None:
        self._expr(node.target)
        self._expr(node.value)

    def _expr_stmt(self, node) -> None:
        if node.value is not None:
            self._expr(node.value)

    def _delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.scope.names[target.id] = None
            else:
                self._bind(target, None)

    def _branches(self, *bodies, keep_before: bool = False) -> None:
        """Run each body from the same starting state; a name then holds what any branch gave it."""
        before = self.scope.names
        states = [before] if keep_before else []
        for body in bodies:
            self.scope.names = dict(before)
            self._body(body)
            states.append(self.scope.names)
        self.scope.names = merge(states)

    def _if(self, node: ast.If) -> None:
        self._expr(node.test)
        self._branches(node.body, node.orelse)

    def _for(self, node) -> None:
        iterated = self._expr(node.iter)
        before = self.scope.names
        self.scope.names = dict(before)
        self._bind(node.target, TENSOR if iterated is TENSOR else None)
        self._body(node.body)
        self.scope.names = merge([before, self.scope.names])
        self._body(node.orelse)

    def _while(self, node: ast.While) -> None:
        self._expr(node.test)
        self._branches(node.body, keep_before=True)
        self._body(node.orelse)

    def _with(self, node) -> None:
        for item in node.items:
            self._expr(item.context_expr)
            if item.optional_vars is not None:
                self._bind(item.optional_vars, None)
        self._body(node.body)

    def _try(self, node) -> None:
        before = self.scope.names
        self.scope.names = dict(before)
        self._body(node.body)
        after_body = self.scope.names
        start = merge([before, after_body])   # a handler may start anywhere in the body
        states = []
        for handler in node.handlers:
            self.scope.names = dict(start)
            if handler.type is not None:
                self._expr(handler.type)
            if handler.name:
                self.scope.names[handler.name] = None
            self._body(handler.body)
            states.append(self.scope.names)
        self.scope.names = after_body
        self._body(node.orelse)
        self.scope.names = merge([self.scope.names, *states])
        self._body(node.finalbody)

    def _match(self, node: ast.Match) -> None:
        self._expr(node.subject)
        bodies = []
        for case in node.cases:
            self._generic(case.pattern)
            if case.guard is not None:
                self._expr(case.guard)
            bodies.append(case.body)
        self._branches(*bodies, keep_before=True)

    # -- functions and classes ---------------------------------------------------------------
    def _function_def(self, node, owner: UserClass | None = None) -> None:
        decorators = set()
        for decorator in node.decorator_list:
            self._expr(decorator)
            if isinstance(decorator, ast.Name):
                decorators.add(decorator.id)
        params = self._parameters(node.args)
        if node.returns is not None:
            self._expr(node.returns)
        self.scope.names[node.name] = OTHER_VALUE
        owner = owner if (owner is not None and "staticmethod" not in decorators) else None
        self.pending.append((node, self.scope, params, owner, "classmethod" in decorators))

    def _parameters(self, args: ast.arguments) -> list[tuple[str, object]]:
        """Evaluate defaults and annotations where the function is defined; a parameter annotated
        torch.Tensor holds a tensor."""
        for default in args.defaults:
            self._expr(default)
        for default in args.kw_defaults:
            if default is not None:
                self._expr(default)
        params = []
        for arg in (*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg):
            if arg is None:
                continue
            tensor = arg.annotation is not None and self._annotation(arg.annotation)
            params.append((arg.arg, TENSOR if tensor and arg is not args.vararg and arg is not args.kwarg else None))
        return params

    def _function_body(self, node, parent: Scope, params, owner: UserClass | None, classmethod: bool) -> None:
        saved = self.scope
        self.scope = Scope(parent)
        self.scope.names.update(params)
        first = (node.args.posonlyargs or node.args.args or [None])[0]
        if owner is not None and first is not None:
            self.scope.names[first.arg] = (CLASS, owner) if classmethod else (INST, owner)
        self._body(node.body)
        self.scope = saved

    def _class_def(self, node: ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self._expr(decorator)
        base_path, local_bases = None, []
        for base in node.bases:
            value = self._expr(base)
            if value is not None and value[0] == CLASS:
                local_bases.append(value[1])
                base_path = base_path or value[1].base
            elif value is not None and value[0] == REF:
                base_path = base_path or value[1]
        for keyword in node.keywords:
            self._expr(keyword.value)
        cls = UserClass(node.name, base_path, local_bases)
        saved = self.scope
        self.scope = Scope(saved, is_class=True)
        handlers = self._stmt_handlers
        for statement in node.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function_def(statement, owner=cls)
            else:
                handler = handlers.get(type(statement))
                handler(statement) if handler is not None else self._generic(statement)
        for name, value in self.scope.names.items():
            cls.attrs.setdefault(name, value)
        self.scope = saved
        self.scope.names[node.name] = (CLASS, cls)

    def _annotation(self, node: ast.expr) -> bool:
        """Evaluate an annotation (a use like any other); is it torch.Tensor, Optional[...] of it, or `| None`?"""
        value = self._expr(node)
        if value is not None and value[0] == REF and value[1] in TENSOR_CLASSES:
            return True
        if isinstance(node, ast.Subscript) and isinstance(node.value, (ast.Name, ast.Attribute)):
            wrapper = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
            if wrapper == "Optional":
                return self._resolves_to_tensor(node.slice)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            sides = (node.left, node.right)
            return any(self._resolves_to_tensor(s) for s in sides) and any(
                isinstance(s, ast.Constant) and s.value is None for s in sides)
        return False

    def _resolves_to_tensor(self, node: ast.expr) -> bool:
        path = self._static_path(node)
        return path is not None and path in TENSOR_CLASSES

    def _static_path(self, node: ast.expr) -> str | None:
        """The torch path of a name or attribute chain, without recording a use."""
        if isinstance(node, ast.Name):
            value = self._lookup(node.id)
            return value[1] if value is not None and value[0] == REF else None
        if isinstance(node, ast.Attribute):
            base = self._static_path(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    # -- expressions -----------------------------------------------------------------------
    def _expr(self, node: ast.expr, report: bool = True):
        handler = self._expr_handlers.get(type(node))
        if handler is not None:
            return handler(node, report)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child)
            elif not isinstance(child, (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)):
                self._generic(child)
        return None

    def _name(self, node: ast.Name, report: bool):
        value = self._lookup(node.id)
        if report and value is not None and value[0] == REF and not self._is_module(value[1]):
            self._record(value[1], node)
        return value

    def _attribute(self, node: ast.Attribute, report: bool):
        chain = isinstance(node.value, (ast.Name, ast.Attribute))
        base = self._expr(node.value, not chain)   # only the whole chain is a use
        return self._member(base, node, report)

    def _member(self, base, node: ast.Attribute, report: bool):
        """The value of `base.attr`, recording the use it makes of a torch API."""
        attr = node.attr
        if base is None:
            if attr in self.tensor_methods:
                self._record(f"torch.Tensor.{attr}", node, POSSIBLE)
            return None
        kind = base[0]
        if kind == REF:
            path = f"{base[1]}.{attr}"
            if report and not self._is_module(path):
                self._record(path, node)
            return (REF, path)
        if kind == TENSOR_KIND:
            if attr.startswith("__"):
                return None
            self._record(f"torch.Tensor.{attr}", node)
            return None if attr in NOT_TENSOR_MEMBERS else TENSOR
        if kind == INST or kind == CLASS:
            cls = base[1]
            if isinstance(cls, str):
                self._record(f"{cls}.{attr}", node)
                return None
            value = cls.find(attr)
            if value is not MISSING:
                return value
            if cls.base is not None and not attr.startswith("__"):
                self.inherited.append((cls, attr, node))
            return None
        return None

    def _call(self, node: ast.Call, report: bool):
        func = node.func
        base = None
        if type(func) is ast.Attribute:
            base = self._expr(func.value, not isinstance(func.value, (ast.Name, ast.Attribute)))
            value = self._member(base, func, True)
        else:
            value = self._expr(func)
        expr = self._expr
        for argument in node.args:
            expr(argument)
        for keyword in node.keywords:
            expr(keyword.value)
        if base is not None and base[0] == INST and isinstance(base[1], UserClass) and func.attr in REGISTERING \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            registered = TENSOR if func.attr in ("register_buffer", "register_parameter") else None
            base[1].attrs.setdefault(node.args[0].value, registered)
        if base is not None:
            if base is TENSOR:   # a tensor method
                return None if func.attr in NOT_TENSOR_MEMBERS else TENSOR
            if base[0] == INST and func.attr in CHAINING_METHODS and value is None:
                return base
        if value is None:
            return None
        kind = value[0]
        if kind == REF:
            return call_result(value[1])
        if kind == CLASS:
            return (INST, value[1])
        if kind == INST and isinstance(value[1], str) and value[1].startswith("torch.nn."):
            return TENSOR   # calling a torch.nn layer or loss
        return None

    def _subscript(self, node: ast.Subscript, report: bool):
        value = self._expr(node.value)
        self._expr(node.slice)
        return TENSOR if value is TENSOR else None

    def _binop(self, node: ast.BinOp, report: bool):
        left, right = self._expr(node.left), self._expr(node.right)
        return TENSOR if left is TENSOR or right is TENSOR else None

    def _unaryop(self, node: ast.UnaryOp, report: bool):
        value = self._expr(node.operand)
        return TENSOR if value is TENSOR and not isinstance(node.op, ast.Not) else None

    def _compare(self, node: ast.Compare, report: bool):
        values = [self._expr(node.left)] + [self._expr(c) for c in node.comparators]
        elementwise = not any(isinstance(op, (ast.Is, ast.IsNot, ast.In, ast.NotIn)) for op in node.ops)
        return TENSOR if elementwise and TENSOR in values else None

    def _ifexp(self, node: ast.IfExp, report: bool):
        self._expr(node.test)
        return pick([self._expr(node.body), self._expr(node.orelse)])

    def _sequence(self, node, report: bool):
        return (TUPLE, tuple(self._expr(element) for element in node.elts))

    def _literal(self, node, report: bool):
        for child in ast.iter_child_nodes(node):
            self._expr(child)
        return OTHER_VALUE

    def _named_expr(self, node: ast.NamedExpr, report: bool):
        value = self._expr(node.value)
        self._bind(node.target, value)
        return value

    def _lambda(self, node: ast.Lambda, report: bool):
        params = self._parameters(node.args)
        saved = self.scope
        self.scope = Scope(saved)
        self.scope.names.update(params)
        self._expr(node.body)
        self.scope = saved
        return OTHER_VALUE

    def _comprehension(self, node, report: bool):
        generators = node.generators
        first = self._expr(generators[0].iter)   # evaluated in the enclosing scope
        saved = self.scope
        self.scope = Scope(saved)
        for i, generator in enumerate(generators):
            iterated = first if i == 0 else self._expr(generator.iter)
            self._bind(generator.target, TENSOR if iterated is TENSOR else None)
            for condition in generator.ifs:
                self._expr(condition)
        if isinstance(node, ast.DictComp):
            self._expr(node.key)
            self._expr(node.value)
        else:
            self._expr(node.elt)
        self.scope = saved
        return OTHER_VALUE


def _skip(node) -> None:
    return None


def _other(node, report) -> tuple:
    return OTHER_VALUE


def call_result(path: str):
    """What calling the torch API at `path` gives: a tensor, an instance of a torch class, or unknown."""
    if path in TENSOR_CLASSES:
        return TENSOR
    namespace, _, name = path.rpartition(".")
    if name[:1].isupper():
        return (INST, path)
    if namespace in TENSOR_FUNCTION_NAMESPACES and name not in NOT_TENSOR_FUNCTIONS:
        return TENSOR
    return None


def pick(values: list):
    """One value for a name that different branches bound differently.

    A torch reference or instance from any branch wins (the name may be torch, so its uses are
    reported); a tensor only if every branch that bound the name bound a tensor."""
    present = [v for v in values if v is not MISSING]
    if not present:
        return MISSING
    first = present[0]
    if all(v == first for v in present):
        return first
    for v in present:
        if v is not None and v[0] in (REF, CLASS, INST):
            return v
    if all(v is not None and v[0] == OTHER for v in present):
        return OTHER_VALUE
    return None


def merge(states: list[dict]) -> dict:
    if len(states) == 1:
        return states[0]
    merged = dict(states[0])
    keys = set()
    for state in states[1:]:
        keys.update(k for k, v in state.items() if merged.get(k, MISSING) is not v)
        keys.update(k for k in merged if k not in state)
    for key in keys:
        value = pick([state.get(key, MISSING) for state in states])
        if value is MISSING:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# -- reading the input -----------------------------------------------------------------------

@dataclass
class Problem:
    path: str
    kind: str       # syntax-error, not-utf8, binary, unreadable, scanner-error, missing, empty-folder
    message: str
    line: int | None = None
    column: int | None = None

    @property
    def exit_status(self) -> int:
        return EXIT_USAGE if self.kind in ("missing", "empty-folder") else EXIT_FILE_ERRORS

    def describe(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.line is not None and self.column is not None:
            where += f":{self.column}"
        return f"{where}: {self.message}"

    @classmethod
    def from_json(cls, data: dict) -> Problem:
        return cls(data["path"], data["kind"], data["message"], data.get("line"), data.get("column"))

    def as_json(self) -> dict:
        out = {"path": self.path, "kind": self.kind, "message": self.message}
        if self.line is not None:
            out["line"] = self.line
        if self.column is not None:
            out["column"] = self.column
        return out


SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules", "site-packages"})


def collect(paths: list[str]) -> tuple[list[str], list[Problem]]:
    """The files to scan, in order: files named on the command line, and every .py file under each
    folder (hidden folders, caches and virtual environments skipped)."""
    files, problems, seen = [], [], set()

    def add(path: str) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            files.append(path)

    for path in paths:
        if os.path.isfile(path):
            add(path)
        elif os.path.isdir(path):
            found = []
            for folder, subfolders, names in os.walk(path):
                subfolders[:] = sorted(
                    d for d in subfolders if not d.startswith(".") and d not in SKIPPED_FOLDERS
                    and not os.path.exists(os.path.join(folder, d, "pyvenv.cfg")))
                found.extend(os.path.join(folder, n) for n in sorted(names) if n.endswith(".py"))
            if not found:
                problems.append(Problem(path, "empty-folder", "folder holds no Python (.py) files"))
            for name in found:
                add(name)
        elif os.path.exists(path):
            problems.append(Problem(path, "unreadable", "not a regular file or folder"))
        else:
            problems.append(Problem(path, "missing", "no such file or folder"))
    return files, problems


def read_source(path: str) -> tuple[str | None, Problem | None]:
    """The file's text, decoded as Python would (UTF-8 unless it declares another encoding)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        return None, Problem(path, "unreadable", f"cannot read: {error.strerror or error}")
    if b"\0" in data:
        return None, Problem(path, "binary", "binary file (it contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        return None, Problem(path, "not-utf8", f"cannot tell the encoding: {error}")
    try:
        return data.decode(encoding), None
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        name = "UTF-8" if encoding.replace("-sig", "") in ("utf-8", "utf8") else encoding
        return None, Problem(path, "not-utf8",
                             f"not {name}: byte 0x{data[error.start]:02x} cannot be decoded; save the file as UTF-8",
                             line, column)
    except LookupError:
        return None, Problem(path, "not-utf8", f"declares an unknown encoding {encoding!r}")


# The walk recurses about twice per level of nesting, where ast.parse allows three levels per frame
# of the default limit: raised while a file is walked, so that what Python can parse, the scan can read.
WALK_RECURSION_LIMIT = 10_000


def scan_source(source: str, filename: str = "<input>", tensor_methods: frozenset[str] = frozenset(),
                known_apis: frozenset[str] = frozenset()) -> list[Use]:
    """The uses of PyTorch APIs in one module's source. Raises SyntaxError (and RecursionError for
    code nested deeper than Python itself can compile)."""
    # The cyclic garbage collector would run over and over while ast.parse allocates its nodes (about
    # 40 % of the time on 10,000 lines); a syntax tree holds no cycles, so reference counting frees it.
    collecting = gc.isenabled()
    gc.disable()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, WALK_RECURSION_LIMIT))
    try:
        return FileScanner(tensor_methods, known_apis).run(ast.parse(source, filename=filename))
    finally:
        sys.setrecursionlimit(limit)
        if collecting:
            gc.enable()


@dataclass
class Scan:
    files: list[str] = field(default_factory=list)      # scanned
    lines: int = 0
    uses: list[tuple[str, Use]] = field(default_factory=list)   # (file, use)
    problems: list[Problem] = field(default_factory=list)


class Progress:
    """`scanned 120/1000 files` on stderr: rewritten in place on a terminal, a line per tenth otherwise."""

    def __init__(self, total: int, stream, enabled: bool | None):
        tty = stream.isatty()
        self.enabled = enabled if enabled is not None else (tty and total >= 20)
        self.total, self.stream, self.tty = total, stream, tty
        self.step = max(1, total // 10)
        self.last = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        if self.tty:
            now = time.monotonic()
            if done == self.total or now - self.last > 0.05:
                self.last = now
                self.stream.write(f"\rscanning {done}/{self.total} files")
                if done == self.total:
                    self.stream.write("\r\x1b[K")
                self.stream.flush()
        elif done % self.step == 0 or done == self.total:
            self.stream.write(f"scanned {done}/{self.total} files\n")
            self.stream.flush()


def scan_paths(paths: list[str], tensor_methods: frozenset[str] = frozenset(), known_apis: frozenset[str] = frozenset(),
               progress: bool | None = False, stream=None) -> Scan:
    files, problems = collect(paths)
    result = Scan(problems=problems)
    meter = Progress(len(files), stream or sys.stderr, progress)
    for done, path in enumerate(files, 1):
        source, problem = read_source(path)
        if problem is None:
            try:
                uses = scan_source(source, path, tensor_methods, known_apis)
            except SyntaxError as error:
                problem = Problem(path, "syntax-error", f"syntax error: {error.msg}", error.lineno, error.offset)
            except (ValueError, RecursionError, MemoryError) as error:   # as `python` itself would fail
                problem = Problem(path, "syntax-error", f"cannot be parsed: {error}")
            except Exception as error:   # a fault of the scanner's: name the file, go on with the others
                problem = Problem(path, "scanner-error",
                                  f"the scanner failed on this file ({error.__class__.__name__}: {error}); "
                                  "please report it with the file")
        if problem is not None:
            result.problems.append(problem)
        else:
            result.files.append(path)
            result.lines += source.count("\n") + (not source.endswith("\n") and bool(source))
            result.uses.extend((path, use) for use in uses)
        meter.update(done)
    return result


# -- the catalogue ----------------------------------------------------------------------------

class CatalogueError(Exception):
    pass


@dataclass
class Catalogue:
    path: str
    verified_with: dict
    entries: dict   # pytorch path -> exported entry

    @property
    def tensor_methods(self) -> frozenset[str]:
        return frozenset(api[len("torch.Tensor."):] for api in self.entries if api.startswith("torch.Tensor."))

    @property
    def known_apis(self) -> frozenset[str]:
        return frozenset(self.entries)

    def canonical(self, api: str) -> str:
        """A class imported from its defining module (torch.nn.modules.linear.Linear) under the name the
        catalogue uses (torch.nn.Linear); a member of a torch class the catalogue has no entry for
        (torch.optim.SGD.step) under the base class that defines it (torch.optim.Optimizer.step)."""
        if api in self.entries:
            return api
        parts = api.split(".")
        if len(parts) > 2 and parts[-2][:1].isupper() and not parts[-1][:1].isupper():
            owner = ".".join(parts[:-2])
            for namespace, base in MEMBER_BASES:
                candidate = f"{base}.{parts[-1]}"
                if owner == namespace and candidate in self.entries:
                    return candidate
        if not parts[-1][:1].isupper():
            return api
        for i in range(len(parts) - 2, 0, -1):
            if not all(p.islower() for p in parts[i:-1]):
                break
            candidate = ".".join(parts[:i] + parts[-1:])
            if candidate in self.entries:
                return candidate
        return api


# Where a member of a class in a torch namespace is documented when the class has no entry of its
# own for it: optimizers' step/zero_grad on Optimizer, schedulers' step on LRScheduler, layers'
# parameters/train/eval/to on Module. check-your-code.js keeps the same table.
MEMBER_BASES = (
    ("torch.optim", "torch.optim.Optimizer"),
    ("torch.optim.lr_scheduler", "torch.optim.lr_scheduler.LRScheduler"),
    ("torch.nn", "torch.nn.Module"),
)


def load_catalogue(path: str | os.PathLike) -> Catalogue:
    path = Path(path)
    if not path.is_file():
        raise CatalogueError(f"no catalogue at {path}: run `make html` to build the site and its mappings.json, "
                             "or pass --mappings FILE")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = {m["pytorch"]: m for m in data["mappings"]}
        for entry in entries.values():
            if not isinstance(entry["page"], str) or not all("status" in eq for eq in entry["equivalents"]):
                raise KeyError("page/status")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise CatalogueError(f"{path} is not a readable mappings.json ({error.__class__.__name__}: {error}); "
                             "run `make html` to rebuild it") from None
    return Catalogue(str(path), dict(data.get("verified_with", {})), entries)


# -- the report ---------------------------------------------------------------------------------

def status_rank(status: str | None) -> tuple:
    if status is None:
        return (2, 0, "")
    return (0, STATUS_ORDER[status], "") if status in STATUS_ORDER else (1, 0, status)


def status_label(status: str | None) -> str:
    return UNCOVERED_LABEL if status is None else STATUS_LABELS.get(status, status)


def join_url(base: str, page: str) -> str:
    return base.rstrip("/") + "/" + page.lstrip("/")


def default_site_url(mappings: str | os.PathLike) -> str:
    return Path(mappings).resolve().parent.as_uri() + "/"


def _api_record(api: str, uses: list[tuple[str, Use]], catalogue: Catalogue, site_url: str) -> dict:
    entry = catalogue.entries.get(api)
    record = {"pytorch": api, "covered": entry is not None}
    if entry is None:
        record.update(status=None, label=UNCOVERED_LABEL)
    else:
        equivalents = []
        for eq in entry["equivalents"]:
            item = {k: eq[k] for k in ("api", "status", "note", "translation", "composite", "verdict") if k in eq}
            item["label"] = status_label(eq["status"])
            equivalents.append(item)
        status = min((eq["status"] for eq in entry["equivalents"]), key=status_rank)
        record.update(status=status, label=status_label(status), namespace=entry.get("namespace", ""),
                      summary=entry.get("summary", ""), url=join_url(site_url, entry["page"]),
                      evidence_url=join_url(site_url, entry.get("evidence", entry["page"])),
                      equivalents=equivalents)
    record["uses"] = [{"file": f, "line": u.line, "column": u.column}
                      for f, u in sorted(uses, key=lambda fu: (fu[0], fu[1].line, fu[1].column))]
    return record


def build_report(scan: Scan, catalogue: Catalogue, site_url: str) -> dict:
    """The report as a JSON document (schema: schema/scan-report.schema.json)."""
    known: dict[str, list] = {}
    possible: dict[str, list] = {}
    for path, use in scan.uses:
        api = catalogue.canonical(use.api)
        (possible if use.receiver == POSSIBLE else known).setdefault(api, []).append((path, use))
    apis = [_api_record(api, uses, catalogue, site_url) for api, uses in sorted(known.items())]
    maybe = [_api_record(api, uses, catalogue, site_url) for api, uses in sorted(possible.items())]

    by_status: dict = {}
    for record in apis:
        counts = by_status.setdefault(record["status"], {"apis": 0, "uses": 0})
        counts["apis"] += 1
        counts["uses"] += len(record["uses"])
    total_uses = sum(len(r["uses"]) for r in apis)
    no_change = sum(len(r["uses"]) for r in apis if r["status"] in NO_CHANGE)
    summary = {
        "files": len(scan.files),
        "lines": scan.lines,
        "apis": len(apis),
        "uses": total_uses,
        "by_status": [{"status": s, "label": status_label(s), **c}
                      for s, c in sorted(by_status.items(), key=lambda item: status_rank(item[0]))],
        "no_change_uses": no_change,
        "no_change_share": round(no_change / total_uses, 4) if total_uses else None,
        "possible_tensor_methods": {"apis": len(maybe), "uses": sum(len(r["uses"]) for r in maybe)},
    }
    summary["line"] = summary_line(summary)
    return {
        "tool": "mapsite.scan",
        "schema_version": SCHEMA_VERSION,
        "catalogue": {"path": catalogue.path, "count": len(catalogue.entries),
                      "verified_with": catalogue.verified_with},
        "site_url": site_url,
        "files": {"scanned": scan.files, "lines": scan.lines},
        "errors": [p.as_json() for p in scan.problems],
        "apis": apis,
        "possible_tensor_methods": maybe,
        "summary": summary,
    }


def to_json(report: dict) -> str:
    """The report as JSON, one record of each list per line: readable, and written by json's C encoder
    (indent= would switch to its pure-Python one, half the run time of a 10,000-line scan)."""
    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    fields = []
    for key, value in report.items():
        if isinstance(value, list) and value:
            fields.append(f"  {dump(key)}: [\n" + ",\n".join(f"    {dump(item)}" for item in value) + "\n  ]")
        else:
            fields.append(f"  {dump(key)}: {dump(value)}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def summary_line(summary: dict) -> str:
    if not summary["uses"]:
        return f"No PyTorch API found in {plural(summary['files'], 'file')}."
    parts = ", ".join(f"{s['apis']} {s['label']}" for s in summary["by_status"])
    share = summary["no_change_uses"] / summary["uses"]
    return (f"{plural(summary['apis'], 'PyTorch API')} used {plural(summary['uses'], 'time')}: {parts}; "
            f"{summary['no_change_uses']} of {summary['uses']} uses ({share:.0%}) need no change.")


# -- terminal output ------------------------------------------------------------------------------

COLOURS = {"consistent": "32", "renamed": "36", "differs": "33", "none": "31", None: "90"}


def compact_uses(uses: list[dict]) -> str:
    """train.py:3, 12, 40; model.py:7"""
    groups: dict[str, list[str]] = {}
    for use in uses:
        groups.setdefault(use["file"], [])
        if str(use["line"]) not in groups[use["file"]][-1:]:
            groups[use["file"]].append(str(use["line"]))
    return "; ".join(f"{f}:{', '.join(lines)}" for f, lines in groups.items())


def render_text(report: dict, width: int = 100, colour: bool = False) -> str:
    out: list[str] = []
    paint = (lambda text, status: f"\x1b[{COLOURS.get(status, '1')}m{text}\x1b[0m") if colour else (lambda t, s: t)
    bold = (lambda text: f"\x1b[1m{text}\x1b[0m") if colour else (lambda t: t)
    summary = report["summary"]
    versions = report["catalogue"]["verified_with"]
    checked = ", ".join(f"{k} {versions[k]}" for k in ("torch", "mindspore") if k in versions)
    out.append(f"Scanned {plural(summary['files'], 'file')} ({plural(summary['lines'], 'line')}) against the "
               f"{report['catalogue']['count']} mappings of the site"
               + (f", checked with {checked}" if checked else "") + ".")
    out.append(f"Pages: {report['site_url']}")

    def wrap(text: str, indent: int) -> list[str]:
        return textwrap.wrap(text, max(30, width - indent), break_long_words=False, break_on_hyphens=False) or [""]

    def block(record: dict, name: str | None = None) -> None:
        uses = record["uses"]
        head = f"  {bold(name or record['pytorch'])}"
        out.append(f"{head}  {paint(record['label'], record['status'])}  {plural(len(uses), 'use')}")
        for i, line in enumerate(wrap(compact_uses(uses), 14)):
            out.append(f"    {'used at' if i == 0 else '':9} {line}")
        if not record["covered"]:
            return
        api_width = min(44, max(len(eq.get("api", "(composite)")) for eq in record["equivalents"]))
        label_width = max(len(eq["label"]) for eq in record["equivalents"])
        indent = 4 + api_width + 2 + label_width + 2
        for eq in record["equivalents"]:
            api = eq.get("api", "(composite)")
            lines = []
            if eq.get("note"):
                lines += wrap(eq["note"], indent)
            for key in ("translation", "composite"):
                if eq.get(key):
                    lines += wrap(f"{key}: {eq[key]}", indent)
            label = paint(eq["label"].ljust(label_width), eq["status"])
            if len(api) > api_width:
                out.append(f"    {api}")
                api = ""
            out.append(f"    {api.ljust(api_width)}  {label}  {lines[0] if lines else ''}".rstrip())
            out.extend(" " * indent + line for line in lines[1:])
        out.append(f"    page      {record['url']}")

    groups: dict = {}
    for record in report["apis"]:
        groups.setdefault(record["status"], []).append(record)
    for status in sorted(groups, key=status_rank):
        records = groups[status]
        uses = sum(len(r["uses"]) for r in records)
        title = f"{status_label(status).upper()} · {plural(len(records), 'API')}, {plural(uses, 'use')}"
        out += ["", paint(title, status)]
        if status is None:   # nothing more to say than where: one line each
            name_width = min(48, max(len(r["pytorch"]) for r in records))
            indent = 2 + name_width + 2 + 8 + 2
            for record in records:
                name = record["pytorch"]
                if len(name) > name_width:
                    out.append(f"  {bold(name)}")
                    name = ""
                lines = wrap(compact_uses(record["uses"]), indent)
                out.append(f"  {bold(name.ljust(name_width))}  {plural(len(record['uses']), 'use'):>8}  {lines[0]}")
                out.extend(" " * indent + line for line in lines[1:])
            continue
        for record in records:
            block(record)
    if report["possible_tensor_methods"]:
        records = report["possible_tensor_methods"]
        uses = sum(len(r["uses"]) for r in records)
        out += ["", bold(f"POSSIBLE TENSOR METHODS · {plural(len(records), 'name')}, {plural(uses, 'use')}"),
                "  The receiver is not known to be a tensor; if it is one, this is what the site says."]
        for record in records:
            block(record, "." + record["pytorch"].rpartition(".")[2] + f"  ({record['pytorch']})")
    if report["errors"]:
        out += ["", bold(f"NOT SCANNED · {plural(len(report['errors']), 'path')}")]
        for error in report["errors"]:
            out.append("  " + Problem.from_json(error).describe())
    out += ["", bold("SUMMARY")]
    if summary["by_status"]:
        label_width = max(len(s["label"]) for s in summary["by_status"])
        for s in summary["by_status"]:
            out.append(f"  {paint(s['label'].ljust(label_width), s['status'])}  {plural(s['apis'], 'API'):>9}  "
                       f"{plural(s['uses'], 'use'):>9}")
    if summary["possible_tensor_methods"]["apis"]:
        p = summary["possible_tensor_methods"]
        out.append(f"  possible tensor methods (not counted above): {plural(p['apis'], 'name')}, "
                   f"{plural(p['uses'], 'use')}")
    out.append(f"  {summary['line']}")
    return "\n".join(out) + "\n"


# -- HTML output ------------------------------------------------------------------------------------

HTML_STYLE = """
:root { color-scheme: light dark;
  --fg: #000; --fg2: #5a5c63; --bg: #fff; --bg2: #f8f9fb; --border: #eeebee; --brand: #0a4bff; --link: #2757dd;
  --font: -apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif;
  --mono: "SFMono-Regular", Menlo, Consolas, Monaco, "Liberation Mono", "Lucida Console", monospace; }
@media (prefers-color-scheme: dark) { :root { --fg: #cfd0d0; --fg2: #9ca0a5; --bg: #131416; --bg2: #1a1c1e;
  --border: #303335; --brand: #3d94ff; --link: #5ca5ff; } }
body { margin: 0; font: 100%/1.5 var(--font); color: var(--fg); background: var(--bg); }
header { border-bottom: 1px solid var(--border); background: var(--bg2); padding: .6em 1.5em; }
header a { color: var(--fg); font-weight: 600; text-decoration: none; }
main { max-width: 72em; margin: 0 auto; padding: 1em 1.5em 3em; }
h1 { font-size: 2em; font-weight: 700; margin: .6em 0 .3em; }
h2 { font-size: 1.5em; margin: 1.6em 0 .4em; }
a { color: var(--link); }
code { font-family: var(--mono); font-size: .8125em; background: var(--bg2); border: 1px solid var(--border);
  border-radius: .2em; padding: .1em .2em; }
pre { font-family: var(--mono); font-size: .8125em; background: var(--bg2); border-left: 3px solid #8a8a8a;
  padding: .4em .6em; margin: .3em 0; white-space: pre-wrap; word-break: break-word; }
.meta { color: var(--fg2); font-size: .9em; }
.summary-line { border-left: 4px solid var(--brand); padding: .3em .8em; background: var(--bg2); font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: .85em; margin: .6em 0; }
th, td { border: 1px solid var(--border); padding: .35em .55em; text-align: left; vertical-align: top; }
th { background: var(--bg2); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.equivalents { margin: 0; padding-left: 1em; }
ul.equivalents li { margin: .15em 0 .5em; }
.api-name { overflow-wrap: anywhere; }
.entry-summary { color: var(--fg2); font-size: .95em; }
.uses { font-family: var(--mono); font-size: .9em; overflow-wrap: break-word; }
.mapping-status { display: inline-block; padding: 0 .45em; border-radius: .3em; font-size: .85em; font-weight: 600;
  white-space: nowrap; background: #e5e5e5; color: #222; }
.status-consistent { background: #d7f3df; color: #0b4a1f; }
.status-renamed { background: #d6eef5; color: #0b3d4a; }
.status-differs { background: #fde9c8; color: #5c3700; }
.status-none { background: #e8e3f8; color: #33245e; }
.status-uncovered { background: #ececec; color: #333; }
.share { height: .6em; background: var(--border); border-radius: .3em; overflow: hidden; max-width: 30em; }
.share span { display: block; height: 100%; background: #2e9d4f; }
.errors li { font-family: var(--mono); font-size: .85em; }
"""


def render_html(report: dict) -> str:
    e = html.escape
    summary = report["summary"]
    site = report["site_url"]
    versions = report["catalogue"]["verified_with"]

    def badge(status: str | None, label: str) -> str:
        css = "uncovered" if status is None else "".join(c if c.isalnum() or c == "-" else "-" for c in status)
        return f'<span class="mapping-status status-{css}">{e(label)}</span>'

    def uses_cell(uses: list[dict]) -> str:
        """One line per file (a break allowed after each slash), then its line numbers."""
        groups: dict[str, list[str]] = {}
        for use in uses:
            lines = groups.setdefault(use["file"], [])
            if str(use["line"]) not in lines[-1:]:
                lines.append(str(use["line"]))
        rows = "".join(f'<div>{"/<wbr>".join(e(part) for part in name.split("/"))}:{", ".join(lines)}</div>'
                       for name, lines in groups.items())
        return f'<td class="uses">{rows}</td>'

    def api_row(record: dict, name: str | None = None) -> str:
        title = e(name or record["pytorch"])
        if not record["covered"]:
            return (f'<tr><td class="api-name"><code>{title}</code></td><td>{badge(None, record["label"])}</td>'
                    f'<td class="num">{len(record["uses"])}</td><td></td>{uses_cell(record["uses"])}</tr>')
        items = []
        for eq in record["equivalents"]:
            parts = [f'<code>{e(eq.get("api", "composite"))}</code> {badge(eq["status"], eq["label"])}']
            if eq.get("note"):
                parts.append(f"<div>{e(eq['note'])}</div>")
            for key in ("translation", "composite"):
                if eq.get(key):
                    parts.append(f'<div class="meta">{key}:</div><pre>{e(eq[key])}</pre>')
            items.append("<li>" + "".join(parts) + "</li>")
        return (f'<tr><td class="api-name"><a href="{e(record["url"])}"><code>{title}</code></a>'
                f'<div class="entry-summary">{e(record.get("summary", ""))}</div></td>'
                f'<td>{badge(record["status"], record["label"])}</td><td class="num">{len(record["uses"])}</td>'
                f'<td><ul class="equivalents">{"".join(items)}</ul></td>{uses_cell(record["uses"])}</tr>')

    head = ("<tr><th>PyTorch API</th><th>Status</th><th>Uses</th><th>MindSpore equivalents</th>"
            "<th>Used at (file:line)</th></tr>")
    body = []
    share = summary["no_change_share"] or 0
    checked = ", ".join(f"{k} {e(v)}" for k, v in versions.items())
    body.append(f"<h1>Migration report</h1><p class=\"meta\">{plural(summary['files'], 'file')}, "
                f"{plural(summary['lines'], 'line')} scanned against the {report['catalogue']['count']} mappings of "
                f"<a href=\"{e(join_url(site, 'index.html'))}\">the site</a>"
                + (f", every one executed with {checked}" if checked else "") + ".</p>")
    body.append(f'<p class="summary-line">{e(summary["line"])}</p>')
    body.append(f'<div class="share" title="share of uses that need no change">'
                f'<span style="width:{share:.1%}"></span></div>')
    if summary["by_status"]:
        rows = "".join(f'<tr><td>{badge(s["status"], s["label"])}</td><td class="num">{s["apis"]}</td>'
                       f'<td class="num">{s["uses"]}</td></tr>' for s in summary["by_status"])
        body.append('<table style="width:auto"><tr><th>Status</th><th>APIs</th><th>Uses</th></tr>' + rows + "</table>")
    groups: dict = {}
    for record in report["apis"]:
        groups.setdefault(record["status"], []).append(record)
    for status in sorted(groups, key=status_rank):
        records = groups[status]
        body.append(f'<h2 id="status-{e(status or "uncovered")}">{e(status_label(status).capitalize())} '
                    f'<span class="meta">({plural(len(records), "API")})</span></h2>')
        body.append("<table>" + head + "".join(api_row(r) for r in records) + "</table>")
    if report["possible_tensor_methods"]:
        body.append('<h2 id="possible-tensor-methods">Possible tensor methods</h2><p>The receiver is not known to be '
                    "a tensor. If it is one, this is what the site says.</p>")
        body.append("<table>" + head + "".join(api_row(r) for r in report["possible_tensor_methods"]) + "</table>")
    if report["errors"]:
        items = "".join(f"<li>{e(Problem.from_json(x).describe())}</li>" for x in report["errors"])
        body.append(f'<h2 id="not-scanned">Not scanned</h2><ul class="errors">{items}</ul>')
    files = "".join(f"<li><code>{e(f)}</code></li>" for f in report["files"]["scanned"])
    body.append(f"<details><summary>Files scanned ({len(report['files']['scanned'])})</summary>"
                f"<ul>{files}</ul></details>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>Migration report · PyTorch → MindSpore</title>"
            f"<style>{HTML_STYLE}</style></head><body><header><a href=\"{e(join_url(site, 'index.html'))}\">"
            "PyTorch → MindSpore</a></header><main>" + "\n".join(body) + "</main></body></html>\n")


# -- command line ------------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mapsite.scan",
        description="List the PyTorch APIs a program uses, each with its MindSpore equivalents, status, note, "
                    "translation and the URL of its page on the site. The code is read, never run.",
        epilog=EXIT_STATUSES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="Python files, and folders to search for .py files")
    p.add_argument("--mappings", metavar="FILE", default=None,
                   help=f"the site's catalogue (default: {DEFAULT_MAPPINGS}, written by make html)")
    p.add_argument("--site-url", metavar="URL", default=None,
                   help="base URL of the site for the links (default: the folder of the catalogue, as a file:// URL)")
    p.add_argument("--json", action="store_true",
                   help=f"print the report as JSON (schema: {SCHEMA_PATH.relative_to(PROJECT)})")
    p.add_argument("--html", metavar="FILE", help="also write the report as one self-contained HTML file")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress on stderr (default: on a terminal, for 20 files or more)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    mappings = args.mappings or DEFAULT_MAPPINGS
    try:
        catalogue = load_catalogue(mappings)
    except CatalogueError as error:
        print(f"mapsite.scan: {error}", file=sys.stderr)
        return EXIT_CATALOGUE
    site_url = args.site_url or default_site_url(mappings)
    if not site_url.endswith("/"):
        site_url += "/"

    scan = scan_paths(args.paths, catalogue.tensor_methods, catalogue.known_apis, args.progress)
    for problem in scan.problems:
        print(f"mapsite.scan: {problem.describe()}", file=sys.stderr)
    status = max((p.exit_status for p in scan.problems), default=EXIT_OK)
    if not scan.files and not any(p.kind not in ("missing", "empty-folder") for p in scan.problems):
        return EXIT_USAGE   # nothing was there to scan: no report

    report = build_report(scan, catalogue, site_url)
    if args.json:
        sys.stdout.write(to_json(report))
    else:
        width = min(160, max(72, shutil.get_terminal_size((100, 24)).columns))
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        sys.stdout.write(render_text(report, width, colour))
    if args.html:
        try:
            Path(args.html).write_text(render_html(report), encoding="utf-8")
        except OSError as error:
            print(f"mapsite.scan: cannot write {args.html}: {error.strerror or error}", file=sys.stderr)
            return max(status, EXIT_USAGE)
        print(f"mapsite.scan: wrote {args.html}", file=sys.stderr)
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:   # `... | head`: the reader has gone; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_OK)
