"""The HLO of the programs a profiler trace ran, read from the trace's XSpace file.

The XSpace's "/host:metadata" plane holds each program's HloProto as the "Hlo Proto" stat of an event
metadata entry. jax's ProfileData does not expose event metadata, and jax ships no Python classes for
these protos, so the few fields needed are read from the protobuf wire format. Field numbers:
XSpace/XPlane/XEventMetadata/XStat in tsl's profiler/protobuf/xplane.proto; HloProto, HloModuleProto,
HloComputationProto and HloInstructionProto in xla/service/hlo.proto; OpMetadata in xla/xla_data.proto.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple


class HloOp(NamedTuple):
    opcode: str
    op_name: str  # the name stack it was traced under
    category: str


class Program(NamedTuple):
    id: int | None
    name: str
    ops: dict[str, HloOp]


def hlo_programs(xspace: bytes) -> list[Program]:
    """Every program whose HLO the trace holds: id, module name and instructions."""
    programs = []
    for number, plane in _fields(memoryview(xspace)):
        if number != 1:  # XSpace.planes
            continue
        fields = list(_fields(plane))
        if _text(next((v for n, v in fields if n == 2), b"")) != "/host:metadata":  # XPlane.name
            continue
        stat_names = {}
        for n, entry in fields:
            if n == 5:  # XPlane.stat_metadata: map<int64, XStatMetadata{name = 2}>
                key, value = _map_entry(entry)
                stat_names[key] = _text(_first(value, 2))
        for n, entry in fields:
            if n != 4:  # XPlane.event_metadata: map<int64, XEventMetadata{stats = 5}>
                continue
            stats = {}
            for m, stat in _fields(_map_entry(entry)[1]):
                if m == 5:  # XStat{metadata_id = 1, uint64 = 3, int64 = 4, bytes = 6}
                    s = dict(_fields(stat))
                    stats[stat_names.get(s.get(1))] = s.get(6, s.get(3, s.get(4)))
            if "Hlo Proto" in stats:
                programs.append(Program(stats.get("program_id"), *_hlo_module(stats["Hlo Proto"])))
    return programs


def _hlo_module(hlo_proto) -> tuple[str, dict[str, HloOp]]:
    """The module's name and its instructions: opcode, op_name metadata and category."""
    module = _first(hlo_proto, 1)  # HloProto.hlo_module
    computations = {}  # id -> [(name, opcode, op_name, called ids, custom call target)]
    for n, comp in _fields(module):
        if n != 3:  # HloModuleProto.computations
            continue
        instructions, comp_id = [], 0  # proto3 leaves a zero id out
        for m, value in _fields(comp):
            if m == 5:  # HloComputationProto.id
                comp_id = value
            elif m == 2:  # HloComputationProto.instructions
                name = opcode = op_name = target = ""
                called = []
                for k, v in _fields(value):
                    if k == 1:
                        name = _text(v)
                    elif k == 2:
                        opcode = _text(v)
                    elif k == 7:  # HloInstructionProto.metadata: OpMetadata{op_name = 2}
                        op_name = _text(_first(v, 2))
                    elif k == 28:
                        target = _text(v)
                    elif k == 38:  # called_computation_ids, packed or not
                        called += [v] if isinstance(v, int) else list(_varints(v))
                instructions.append((name, opcode, op_name, called, target))
        computations[comp_id] = instructions

    def inside(ids, seen=()) -> list[tuple]:
        out = []
        for i in ids:
            if i not in seen:
                for ins in computations.get(i, []):
                    out += [ins, *inside(ins[3], (*seen, i))]
        return out

    ops = {}
    for instructions in computations.values():
        for name, opcode, op_name, called, target in instructions:
            fused = inside(called) if opcode == "fusion" else []
            kinds = {opcode, *(i[1] for i in fused)}
            targets = " ".join([target, *(i[4] for i in fused)]).lower()
            if kinds & {"dot", "ragged-dot"} or "gemm" in targets or "matmul" in targets:
                category = "matmul"
            elif "convolution" in kinds or "conv" in targets:
                category = "convolution"
            else:
                category = opcode
            if not op_name:  # a fusion without metadata of its own: that of its main (or first named) op
                named = sorted((i for i in fused if i[2]), key=lambda i: i[1] not in ("dot", "convolution"))
                op_name = named[0][2] if named else ""
            ops[name] = HloOp(opcode, op_name, category)
    return _text(_first(module, 1)), ops


def _fields(buf) -> Iterator[tuple[int, Any]]:
    """(field number, value) of each field of a protobuf message: an int, or bytes where length-delimited."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire in (1, 2, 5):
            size = 8 if wire == 1 else 4 if wire == 5 else None
            if size is None:
                size, i = _varint(buf, i)
            value, i = buf[i:i + size], i + size
        else:
            raise ValueError(f"protobuf wire type {wire} (groups) is not read here")
        yield number, value


def _varint(buf, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def _varints(buf) -> Iterator[int]:
    i = 0
    while i < len(buf):
        value, i = _varint(buf, i)
        yield value


def _first(message, number: int, default=b""):
    return next((v for n, v in _fields(message) if n == number), default)


def _map_entry(entry) -> tuple[Any, Any]:
    fields = dict(_fields(entry))
    return fields.get(1), fields.get(2, b"")


def _text(value) -> str:
    return str(value, "utf-8")


def as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
