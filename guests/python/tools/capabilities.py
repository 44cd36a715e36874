"""Which of botyard's capabilities a Python app reaches, read from its source.

`botyard build` runs this before componentize-py and builds the component
against a world that imports only what it prints, so an app needs only the
grants its code uses:

    python capabilities.py <app-dir> <sdk-dir> [<module>]

prints JSON: `{"imports": ["store"], "because": {"store": "app.py:12: store.increment"}}`.

How it reads the code (statically, with `ast`; nothing is imported):

- The app's modules are those in the app directory reachable from `app.py`
  by `import`. Each counts as a whole: whatever it references may run.
- The `botyard` package is read per top-level name: `store.increment`
  reaches the function `increment`, which reaches `_wit`, which is bound to
  `wit_world.imports.store`: the `store` interface. So `store.StoreError`
  alone imports nothing, and neither does `import botyard` alone.
- A bare use of a module (`f(store)`, `getattr(botyard, name)`) reaches
  all of it. Code the build cannot follow (`eval`, `exec`, `__import__`,
  `importlib.import_module`, `globals()`, `vars()`, `locals()`, a module
  that does not parse) reaches every capability.
- An import of `wit_world.imports.<interface>` is a use of it, except inside
  `try: ... except ImportError:` (how the SDK binds capabilities it may not
  have).

The result errs on the side of importing: a capability a use of which it
cannot rule out is imported.
"""

from __future__ import annotations

import ast
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

CAPABILITIES = ("slack", "store", "schedule", "log", "clock", "settings", "http")
"""The interfaces of world `app` an app may import (see wit/botyard.wit)."""

SDK_PACKAGE = "botyard"
BINDINGS = "wit_world.imports"
DYNAMIC = {"eval", "exec", "__import__", "import_module", "globals", "vars", "locals"}
IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}

# What a name or expression can stand for:
#   ("iface", name)        a capability's bindings
#   ("all",)               anything at all
#   ("module", dotted)     a module object, used as a value: all of it
#   ("load", dotted)       importing a module: its module-level code runs
#   ("unit", dotted, name) a top-level function, class or variable of an SDK module
#   ("attr", dotted, name) `from dotted import name`, resolved when used
#   ("chain", dotted, root, attr…) `root.attr…` written in module `dotted`,
#                          resolved once every module is read
Target = Tuple[str, ...]


@dataclass
class Ref:
    target: Target
    line: int
    text: str


@dataclass
class Module:
    name: str
    path: Optional[Path]
    is_package: bool
    sdk: bool
    symbols: Dict[str, Set[Target]] = field(default_factory=dict)
    units: Dict[str, List[Ref]] = field(default_factory=dict)
    load: List[Ref] = field(default_factory=list)


class Program:
    """The app's modules and the SDK's, parsed on demand."""

    def __init__(self, roots: List[Path]):
        self.roots = roots
        self.modules: Dict[str, Optional[Module]] = {}

    def locate(self, dotted: str) -> Optional[Tuple[Path, bool]]:
        parts = dotted.split(".")
        if not all(part.isidentifier() for part in parts):
            return None
        for root in self.roots:
            base = root.joinpath(*parts)
            if (base / "__init__.py").is_file():
                return base / "__init__.py", True
            if base.parent.joinpath(parts[-1] + ".py").is_file():
                return base.parent / (parts[-1] + ".py"), False
        return None

    def module(self, dotted: str) -> Optional[Module]:
        """The module `dotted` if it is the app's or the SDK's, else `None`."""
        if dotted in self.modules:
            return self.modules[dotted]
        found = self.locate(dotted)
        if found is None:
            self.modules[dotted] = None
            return None
        path, is_package = found
        sdk = dotted == SDK_PACKAGE or dotted.startswith(SDK_PACKAGE + ".")
        module = Module(dotted, path, is_package, sdk)
        self.modules[dotted] = module  # before reading: an import cycle finds it
        Reader(self, module).read()
        return module

    def member(self, dotted: str, name: str) -> Optional[Set[Target]]:
        """What `dotted.name` stands for, or `None` when it cannot be told."""
        if dotted == BINDINGS:
            return {("module", f"{BINDINGS}.{name}")}
        if dotted.startswith(BINDINGS + "."):
            return {("module", dotted)}
        if dotted == "wit_world":
            return {("module", f"wit_world.{name}")}
        if self.module(f"{dotted}.{name}") is not None:
            return {("module", f"{dotted}.{name}")}
        module = self.module(dotted)
        if module is None:
            return set()  # not the app's nor the SDK's: reaches nothing of botyard
        if name in module.symbols:
            return module.symbols[name]
        return None

    def resolve(self, target: Target, seen: Optional[Set[Target]] = None) -> Set[Target]:
        """`target` with `attr` and `chain` indirections followed."""
        if target[0] == "chain":
            return self.chain(target[1], target[2], list(target[3:]))
        if target[0] != "attr":
            return {target}
        seen = set() if seen is None else seen
        if target in seen:
            return set()
        seen.add(target)
        members = self.member(target[1], target[2])
        if members is None:
            return {("module", target[1])}
        out: Set[Target] = set()
        for member in members:
            out |= self.resolve(member, seen)
        return out

    def chain(self, dotted: str, root: str, attrs: List[str]) -> Set[Target]:
        """What `root.attrs[0].attrs[1]…`, written in module `dotted`, uses:
        followed through modules as far as it goes. A name the module does
        not define at top level (a local, a builtin) reaches nothing."""
        module = self.module(dotted)
        if module is None or root not in module.symbols:
            return set()
        current: Set[Target] = set()
        for target in module.symbols[root]:
            current |= self.resolve(target)
        for attr in attrs:
            following: Set[Target] = set()
            for t in current:
                if t[0] != "module":
                    following.add(t)  # an attribute of a value: the value is what is used
                    continue
                members = self.member(t[1], attr)
                if members is None:
                    following.add(t)
                else:
                    for member in members:
                        following |= self.resolve(member)
            current = following
        return current


class Reader(ast.NodeVisitor):
    """Reads one module: its top-level names, and what each part references."""

    def __init__(self, program: Program, module: Module):
        self.program = program
        self.module = module
        self.unit: Optional[str] = None  # the SDK top-level name being read, if any
        self.guarded = 0  # inside `try: … except ImportError:`
        self.relative_file = module.path.name if module.path else module.name

    def read(self) -> None:
        assert self.module.path is not None
        try:
            tree = ast.parse(self.module.path.read_text(encoding="utf-8"), str(self.module.path))
        except (SyntaxError, ValueError, UnicodeDecodeError) as e:
            self.module.load.append(Ref(("all",), getattr(e, "lineno", 0) or 0, f"cannot read it: {e}"))
            return
        for stmt in tree.body:
            self.top_level(stmt)

    # Where references go

    def refer(self, target: Target, node: ast.AST) -> None:
        text = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
        ref = Ref(target, getattr(node, "lineno", 0), text if len(text) <= 60 else text[:57] + "...")
        if self.unit is not None:
            self.module.units.setdefault(self.unit, []).append(ref)
        else:
            self.module.load.append(ref)

    def bind(self, name: str, target: Target) -> None:
        self.module.symbols.setdefault(name, set()).add(target)

    def own(self, name: str) -> Target:
        """What a name this module defines stands for."""
        return ("unit", self.module.name, name) if self.module.sdk else ("module", self.module.name)

    # Top-level statements

    def top_level(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.bind(stmt.name, self.own(stmt.name))
            # Decorators (and a function's defaults) run when the module loads.
            for decorator in stmt.decorator_list:
                self.visit(decorator)
            self.in_unit(stmt.name, lambda: self.generic_visit(stmt))
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            for name in names:
                self.bind(name, self.own(name))
            if stmt.value is not None:
                self.visit(stmt.value)  # runs at load
                if self.module.sdk:
                    for name in names:
                        self.in_unit(name, lambda: self.visit(stmt.value))
        elif isinstance(stmt, (ast.If, ast.With, ast.For, ast.While)):
            for child in ast.iter_child_nodes(stmt):
                if isinstance(child, ast.stmt):
                    self.top_level(child)
                else:
                    self.visit(child)
        elif isinstance(stmt, ast.Try):
            self.try_block(stmt, self.top_level)
        else:
            self.visit(stmt)

    def in_unit(self, name: str, read) -> None:
        """Reads part of the module as the top-level name `name`. An app
        module is read as a whole: all of it counts as its load."""
        if not self.module.sdk:
            read()
            return
        outer, self.unit = self.unit, name
        read()
        self.unit = outer

    def try_block(self, node: ast.Try, each) -> None:
        guarded = any(_catches_import_error(h) for h in node.handlers)
        self.guarded += guarded
        for stmt in node.body:
            each(stmt)
        self.guarded -= guarded
        for handler in node.handlers:
            for stmt in handler.body:
                each(stmt)
        for stmt in node.orelse + node.finalbody:
            each(stmt)

    # Inside code

    def visit_Try(self, node: ast.Try) -> None:
        self.try_block(node, self.visit)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            dotted = alias.name
            self.imported(dotted, node)
            if alias.asname:
                self.bind(alias.asname, ("module", dotted))
            else:
                self.bind(dotted.split(".")[0], ("module", dotted.split(".")[0]))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self.absolute(node.module, node.level)
        if base is None:
            return
        self.imported(base, node)
        for alias in node.names:
            if alias.name == "*":
                self.refer(("module", base), node)
                continue
            self.bind(alias.asname or alias.name, ("attr", base, alias.name))
            if base == BINDINGS:
                self.imported(f"{BINDINGS}.{alias.name}", node)
            elif self.program.module(f"{base}.{alias.name}") is not None:
                self.imported(f"{base}.{alias.name}", node)

    def imported(self, dotted: str, node: ast.AST) -> None:
        """An import statement runs `dotted`'s module-level code, and needs a
        capability's bindings to exist unless it is guarded."""
        if dotted.startswith(BINDINGS + "."):
            interface = dotted.split(".")[2]
            if not self.guarded and interface != "types":
                self.refer(("iface", interface), node)
        elif dotted == BINDINGS and not self.guarded:
            return  # `from wit_world.imports import x`: the names say which
        elif self.program.module(dotted) is not None:
            self.refer(("load", dotted), node)

    def absolute(self, module: Optional[str], level: int) -> Optional[str]:
        if level == 0:
            return module
        package = self.module.name if self.module.is_package else self.module.name.rpartition(".")[0]
        parts = package.split(".") if package else []
        if level - 1 > len(parts):
            return None
        base = parts[: len(parts) - (level - 1)]
        return ".".join(base + ([module] if module else [])) or None

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name in DYNAMIC and not self.module.sdk:
            self.refer(("all",), node)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attrs: List[str] = []
        root: ast.expr = node
        while isinstance(root, ast.Attribute):
            attrs.append(root.attr)
            root = root.value
        if isinstance(root, ast.Name):
            self.refer(("chain", self.module.name, root.id, *reversed(attrs)), node)
        else:
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.refer(("chain", self.module.name, node.id), node)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (isinstance(n, ast.Name) and n.id in IMPORT_ERRORS)
        or (isinstance(n, ast.Attribute) and n.attr in IMPORT_ERRORS)
        for n in names
    )


class Reach:
    """What a reference reaches, through the SDK."""

    def __init__(self, program: Program):
        self.program = program

    def interfaces(self, target: Target, app_modules: List[str]) -> Set[str]:
        """The capabilities `target` reaches; app modules it loads are
        appended to `app_modules` instead of being followed."""
        found: Set[str] = set()
        seen: Set[Target] = set()
        stack = [target]
        while stack:
            t = stack.pop()
            if t in seen:
                continue
            seen.add(t)
            kind = t[0]
            if kind == "iface":
                if t[1] in CAPABILITIES:
                    found.add(t[1])
            elif kind == "all":
                found.update(CAPABILITIES)
            elif kind in ("attr", "chain"):
                stack.extend(self.program.resolve(t))
            elif kind in ("module", "load"):
                dotted = t[1]
                if dotted == BINDINGS or dotted == "wit_world":
                    if kind == "module":
                        found.update(CAPABILITIES)
                    continue
                if dotted.startswith(BINDINGS + "."):
                    stack.append(("iface", dotted.split(".")[2]))
                    continue
                module = self.program.module(dotted)
                if module is None:
                    continue
                if not module.sdk:
                    app_modules.append(dotted)
                    continue
                parent = dotted.rpartition(".")[0]
                if parent:
                    stack.append(("load", parent))
                stack.extend(r.target for r in module.load)
                if kind == "module":  # all of it: every name, every submodule
                    stack.extend(("unit", dotted, name) for name in module.units)
                    stack.extend(("unit", dotted, name) for name in module.symbols)
                    stack.extend(self.submodules(module))
            elif kind == "unit":
                module = self.program.module(t[1])
                if module is None:
                    continue
                stack.append(("load", t[1]))
                stack.extend(r.target for r in module.units.get(t[2], []))
                stack.extend(s for s in module.symbols.get(t[2], set()) if s != t)
        return found

    def submodules(self, module: Module) -> Iterable[Target]:
        if not module.is_package or module.path is None:
            return []
        return [
            ("module", f"{module.name}.{p.stem if p.suffix == '.py' else p.name}")
            for p in sorted(module.path.parent.iterdir())
            if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
        ]


def analyse(app_dir: Path, sdk_dir: Path, entry: str = "app") -> dict:
    """What `entry` (the app's module in `app_dir`) reaches, with the SDK in
    `sdk_dir` (an app's own `botyard/` in `app_dir` comes first)."""
    program = Program([app_dir, sdk_dir])
    reach = Reach(program)
    because: Dict[str, str] = {}
    queue = [entry]
    visited: Set[str] = set()
    while queue:
        name = queue.pop(0)
        if name in visited:
            continue
        visited.add(name)
        module = program.module(name)
        if module is None or module.sdk:
            continue
        where = module.path.relative_to(app_dir) if module.path else Path(name)
        for ref in module.load:
            more: List[str] = []
            for interface in sorted(reach.interfaces(ref.target, more)):
                because.setdefault(interface, f"{where}:{ref.line}: {ref.text}")
            queue.extend(m for m in more if m not in visited)
    imports = [c for c in CAPABILITIES if c in because]
    return {"imports": imports, "because": {c: because[c] for c in imports}}


def main(argv: List[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    result = analyse(Path(argv[1]), Path(argv[2]), argv[3] if len(argv) == 4 else "app")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
