"""The generated C student (`kdedge.export.c_student`) on this machine: build it, run it, time it.

Two parts, both torch-free (numpy, onnx, onnxruntime and the standard library):

* the toolchain: a C compiler (the machine's gcc, or Debian's aarch64 cross gcc whose static
  binaries run under `qemu-aarch64-static`), the strict flags every build uses, and one generated
  harness program with two modes — `predict` (every row of a file through the student; export's
  parity gate and `make arm-check` use it) and `time` (blocks of back-to-back calls, timed in C);
  `object_size` reads code + weights bytes (`size`) and stack bytes (`-fstack-usage`);
* `bench_c`: the C student at batch 1, timed in C with `clock_gettime(CLOCK_MONOTONIC)` around
  blocks of calls (so Python's call cost is not what is measured), beside onnxruntime's floor
  graph and the same student under onnxruntime, measured in the same call; ratio to the floor's
  p50 and ns per multiply-accumulate.

Hand-written: no library builds and times generated C from Python without a build system.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from kdedge.contract import C_DIR, CBench, RepetitionRule, onnx_file
from kdedge.errors import KdedgeError
from kdedge.log import get_logger
from kdedge.rundir import sha256_file
from kdedge.runtime.floor import build_floor_model, floor_key
from kdedge.runtime.graph_cost import count_graph_cost
from kdedge.runtime.latency import measure_interleaved
from kdedge.runtime.models import (ModelInfo, load_rows, model_rows, read_model_info,
                                   resolve_models, session_options)

DEFAULT_PREFIX = "kdedge"  # symbol prefix: kdedge_predict, KDEDGE_N_FEATURES, kdedge.h
STUDENT_ONNX = Path(onnx_file("student")).name  # the fp32 student the C is generated from
# Every build: ISO C99, warnings are errors. GCC in ISO mode does not contract a*b+c into FMA
# (-ffp-contract=off), so x86-64 and aarch64 round every product and sum the same way.
STRICT_FLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic")
TIMER = ("clock_gettime(CLOCK_MONOTONIC) around a block of back-to-back calls of "
         "<prefix>_predict cycling through the test rows (C harness, -O2); ns per call = block "
         "time / calls; the block size doubles until a block lasts block_time_s; median of blocks")
_log = get_logger("bench")


class ToolchainMissing(KdedgeError):
    """A compiler, `size` or emulator is not installed (the message names the Debian package)."""


@dataclass(frozen=True)
class Toolchain:
    """A compiler, its `size`, and how its programs run here (natively or under an emulator)."""

    name: str  # how messages and records name it
    cc: str
    size: str
    packages: str  # Debian packages that provide cc and size
    link_flags: tuple[str, ...] = ()
    runner: tuple[str, ...] = ()  # prefix of every run: () natively, the emulator otherwise
    runner_package: str | None = None


NATIVE = Toolchain(name="native gcc", cc="gcc", size="size", packages="gcc binutils")
AARCH64 = Toolchain(name="aarch64 (Debian cross gcc, -static, under qemu-aarch64-static)",
                    cc="aarch64-linux-gnu-gcc", size="aarch64-linux-gnu-size",
                    packages="gcc-aarch64-linux-gnu libc6-dev-arm64-cross", link_flags=("-static",),
                    runner=("qemu-aarch64-static",), runner_package="qemu-user-static")


def require_toolchain(toolchain: Toolchain) -> None:
    """Raise `ToolchainMissing`, naming what to install, unless every tool is on PATH."""
    tools = [(toolchain.cc, toolchain.packages), (toolchain.size, toolchain.packages)]
    tools += [(toolchain.runner[0], toolchain.runner_package)] if toolchain.runner else []
    missing = [(tool, package) for tool, package in tools if shutil.which(tool) is None]
    if missing:
        names = ", ".join(tool for tool, _ in missing)
        packages = " ".join(dict.fromkeys(package for _, package in missing))
        raise ToolchainMissing(f"{names} not found on PATH ({toolchain.name}): install it, e.g. "
                               f"`apt-get install {packages}` on Debian/Ubuntu")


def toolchain_missing(toolchain: Toolchain) -> str | None:
    """None where every tool of `toolchain` is on PATH, else why not (`require_toolchain`'s
    message): for callers that skip the C student rather than fail."""
    try:
        require_toolchain(toolchain)
    except ToolchainMissing as exc:
        return str(exc)
    return None


def compiler_version(toolchain: Toolchain) -> str:
    """First line of `cc --version`, e.g. `gcc (Debian 12.2.0-14+deb12u1) 12.2.0`."""
    return _run([toolchain.cc, "--version"], what="the compiler").splitlines()[0].strip()


def _run(command: list[str], *, what: str, timeout: float = 300.0) -> str:
    """stdout of a tool; a failure is a KdedgeError with the command and its stderr."""
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise ToolchainMissing(f"{command[0]} not found ({what}): install it") from exc
    except subprocess.TimeoutExpired as exc:
        raise KdedgeError(f"{what} did not finish within {timeout:.0f} s: "
                          f"{' '.join(command)}") from exc
    if proc.returncode != 0:
        raise KdedgeError(f"{what} failed (exit status {proc.returncode}): {' '.join(command)}\n"
                          f"{proc.stderr.strip()[-3000:]}")
    return proc.stdout


# ---------------------------------------------------------------------------------------------
# The harness: one program, two modes, built with the student's own sources.

_HARNESS = r"""/* kdedge C student harness (generated; not part of the student).
 *   harness predict ROWS OUT        every row of ROWS through @prefix@_predict; OUT gets, per row,
 *                                   N_CLASSES float32 probabilities then the int32 label
 *   harness time ROWS BLOCK_NS N    doubles the calls per block until a block lasts BLOCK_NS,
 *                                   then prints the ns per call of N such blocks
 * ROWS: float32 row-major [rows, N_FEATURES], native byte order. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "@prefix@.h"

#define K @PREFIX@_N_FEATURES
#define C @PREFIX@_N_CLASSES

static float *read_rows(const char *path, long *n_rows)
{
    FILE *file = fopen(path, "rb");
    float *rows = NULL;
    long bytes = -1;
    if (file != NULL && fseek(file, 0, SEEK_END) == 0) {
        bytes = ftell(file);
    }
    *n_rows = bytes / (long)(K * sizeof(float));
    if (*n_rows > 0 && fseek(file, 0, SEEK_SET) == 0) {
        rows = malloc((size_t)(*n_rows * K) * sizeof(float));
    }
    if (rows != NULL && fread(rows, sizeof(float), (size_t)(*n_rows * K), file)
                        != (size_t)(*n_rows * K)) {
        free(rows);
        rows = NULL;
    }
    if (file != NULL) {
        fclose(file);
    }
    return rows;
}

static int predict_rows(const float *rows, long n_rows, const char *path)
{
    FILE *out = fopen(path, "wb");
    float probabilities[C];
    int32_t label;
    long i;
    if (out == NULL) {
        return 1;
    }
    for (i = 0; i < n_rows; ++i) {
        label = (int32_t)@prefix@_predict(rows + i * K, probabilities);
        if (fwrite(probabilities, sizeof(float), (size_t)C, out) != (size_t)C
            || fwrite(&label, sizeof label, 1, out) != 1) {
            fclose(out);
            return 1;
        }
    }
    return fclose(out) != 0;
}

static double now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e9 + (double)now.tv_nsec;
}

/* ns per call of `calls` back-to-back calls, cycling through the rows (no division per call) */
static double time_block(const float *rows, long n_rows, long calls, volatile long *sink)
{
    const float *row = rows, *end = rows + n_rows * K;
    float probabilities[C] = {0.0f};
    long i, labels = 0;
    double start = now_ns(), elapsed;
    for (i = 0; i < calls; ++i) {
        labels += @prefix@_predict(row, probabilities);
        row += K;
        if (row == end) {
            row = rows;
        }
    }
    elapsed = now_ns() - start;
    *sink += labels + (probabilities[0] > 0.5f);
    return elapsed / (double)calls;
}

static int time_rows(const float *rows, long n_rows, double block_ns, long blocks)
{
    volatile long sink = 0;
    long calls = 1, block;
    while (time_block(rows, n_rows, calls, &sink) * (double)calls < block_ns
           && calls < (1L << 30)) {
        calls *= 2;
    }
    printf("calls_per_block %ld\n", calls);
    for (block = 0; block < blocks; ++block) {
        printf("ns_per_call %.4f\n", time_block(rows, n_rows, calls, &sink));
    }
    printf("sink %ld\n", (long)sink);
    return 0;
}

int main(int argc, char **argv)
{
    long n_rows = 0;
    float *rows;
    int status = 2;
    if (argc < 4 || (strcmp(argv[1], "predict") != 0 && strcmp(argv[1], "time") != 0)) {
        fprintf(stderr, "usage: %s predict ROWS OUT | time ROWS BLOCK_NS BLOCKS\n", argv[0]);
        return 2;
    }
    rows = read_rows(argv[2], &n_rows);
    if (rows == NULL) {
        fprintf(stderr, "cannot read float32 rows of %d features from %s\n", K, argv[2]);
        return 2;
    }
    if (strcmp(argv[1], "predict") == 0) {
        status = predict_rows(rows, n_rows, argv[3]);
    } else if (argc >= 5) {
        status = time_rows(rows, n_rows, atof(argv[3]), atol(argv[4]));
    }
    free(rows);
    return status;
}
"""


def harness_source(prefix: str) -> str:
    """The harness C source for a student generated with symbol prefix `prefix`."""
    return _HARNESS.replace("@prefix@", prefix).replace("@PREFIX@", prefix.upper())


def build_harness(toolchain: Toolchain, c_dir: Path, prefix: str, build_dir: Path) -> Path:
    """Compile c_dir/<prefix>.c with the harness (strict flags, -lm) into build_dir; the path of
    the program. A compile error in generated code is a kdedge bug: the message says so."""
    harness = Path(build_dir) / f"{prefix}_harness.c"
    harness.write_text(harness_source(prefix), encoding="utf-8")
    program = Path(build_dir) / f"{prefix}_harness"
    command = [toolchain.cc, *STRICT_FLAGS, f"-I{c_dir}", str(Path(c_dir) / f"{prefix}.c"),
               str(harness), "-o", str(program), *toolchain.link_flags, "-lm"]
    _run(command, what=f"compiling the C student with {toolchain.cc} (generated code that does "
                       "not compile is a kdedge bug: report it with the .onnx file)")
    return program


def write_rows(rows: np.ndarray, path: Path) -> Path:
    """Rows as the harness reads them: float32, row-major, little-endian."""
    np.ascontiguousarray(rows, dtype="<f4").tofile(path)
    return path


def run_predict(toolchain: Toolchain, program: Path, rows: np.ndarray, *,
                n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities [rows, C] float32, labels [rows] int64) of the harness on every row."""
    build_dir = Path(program).parent
    rows_file, out_file = write_rows(rows, build_dir / "rows.bin"), build_dir / "outputs.bin"
    _run([*toolchain.runner, str(program), "predict", str(rows_file), str(out_file)],
         what=f"running the C student ({toolchain.name})")
    record = np.dtype([("probabilities", "<f4", (n_classes,)), ("label", "<i4")])
    outputs = np.fromfile(out_file, dtype=record)
    if len(outputs) != len(rows):
        raise KdedgeError(f"the C student wrote {len(outputs)} rows for {len(rows)} inputs "
                          f"({toolchain.name}); a kdedge bug: report it")
    return outputs["probabilities"].copy(), outputs["label"].astype(np.int64)


def run_timing(toolchain: Toolchain, program: Path, rows: np.ndarray, *, blocks: int,
               block_time_s: float) -> tuple[int, list[float]]:
    """(calls per block, ns per call of each block) from the harness's `time` mode."""
    rows_file = write_rows(rows, Path(program).parent / "rows.bin")
    text = _run([*toolchain.runner, str(program), "time", str(rows_file),
                 repr(block_time_s * 1e9), str(blocks)], what="timing the C student")
    fields = [line.split() for line in text.splitlines() if line.strip()]
    calls = next(int(value) for key, value in fields if key == "calls_per_block")
    return calls, [float(value) for key, value in fields if key == "ns_per_call"]


@dataclass(frozen=True)
class ObjectSize:
    """What the student's object file costs: `size` (Berkeley) and -fstack-usage."""

    text: int  # code and read-only data: the static const weights live in .rodata, counted here
    data: int
    bss: int
    # <prefix>_predict's frame. It calls expf (whose own frame is libm's, not counted), so it
    # is no leaf function and x86-64's 128-byte red zone (not in .su files) does not hide part.
    stack_bytes: int
    stack_qualifier: str  # "static": a fixed frame; "dynamic" would mean alloca/VLAs

    @property
    def total(self) -> int:
        return self.text + self.data + self.bss


def object_size(toolchain: Toolchain, c_dir: Path, prefix: str, build_dir: Path) -> ObjectSize:
    """Compile <prefix>.c alone (strict flags + -fstack-usage) and read `size` and the .su file."""
    obj = Path(build_dir) / f"{prefix}.{toolchain.cc}.o"
    _run([toolchain.cc, *STRICT_FLAGS, "-fstack-usage", f"-I{c_dir}", "-c",
          str(Path(c_dir) / f"{prefix}.c"), "-o", str(obj)], what=f"compiling {prefix}.c")
    lines = _run([toolchain.size, str(obj)], what="size").splitlines()
    text, data, bss = (int(value) for value in lines[1].split()[:3])  # Berkeley format
    entry = f"{prefix}_predict"
    for line in obj.with_suffix(".su").read_text(encoding="utf-8").splitlines():
        where, stack, qualifier = line.split("\t")[:3]
        if where.rsplit(":", 1)[-1] == entry:
            return ObjectSize(text=text, data=data, bss=bss, stack_bytes=int(stack),
                              stack_qualifier=qualifier.strip())
    raise KdedgeError(f"{obj.with_suffix('.su')} has no line for {entry}; a kdedge bug: report it")


# ---------------------------------------------------------------------------------------------
# The bench.

def c_sources(root: str | Path, prefix: str = DEFAULT_PREFIX) -> tuple[Path, Path] | None:
    """(the C student's folder, its .c) in a run or device folder (ROOT/c/), or None."""
    c_dir = Path(root) / C_DIR
    source = c_dir / f"{prefix}.c"
    return (c_dir, source) if source.is_file() and (c_dir / f"{prefix}.h").is_file() else None


def bench_c(root: str | Path, *, prefix: str = DEFAULT_PREFIX, rule: RepetitionRule | None = None,
            blocks: int = 21, block_time_s: float = 0.01, threads: int = 1,
            opt_level: str = "all") -> CBench:
    """Time ROOT/c/<prefix>.c at batch 1 in C, and the floor and ROOT's student.onnx under
    onnxruntime, in one call.

    Args:
        root: a run directory or device folder holding c/<prefix>.{c,h} and the student's .onnx
            (onnx/student.onnx or student.onnx; split.npz, when there, gives the test rows).
        prefix: the symbol prefix the C student was generated with.
        rule: calls timed for the onnxruntime graphs (default: the bench's DEFAULT_RULE).
        blocks, block_time_s: timed C blocks, and the seconds each lasts at least.
        threads, opt_level: onnxruntime session settings (as `kdedge bench`).

    Raises:
        KdedgeError: no C student or no student.onnx under root; ToolchainMissing: no gcc.
    """
    from kdedge.runtime.bench import DEFAULT_RULE  # not at the top: bench imports this module

    root = Path(root)
    found, info = _c_student(root, prefix)
    require_toolchain(NATIVE)  # before the onnxruntime timings, not after
    rows, input_rows = model_rows(info, load_rows(root))
    options = session_options(threads=threads, opt_level=opt_level)
    student_ns, floor_ns = _onnxruntime_p50_ns(info, rows, rule or DEFAULT_RULE, options)
    c_ns, calls = _c_ns_per_call(found[0], prefix, rows, blocks=blocks, block_time_s=block_time_s)
    macs, p50 = count_graph_cost(info.path).macs, float(np.median(c_ns))
    record = CBench(
        source=found[1].relative_to(root).as_posix(), onnx=info.path.relative_to(root).as_posix(),
        compiler=compiler_version(NATIVE), flags=[*STRICT_FLAGS, "-lm"], timer=TIMER,
        rows=len(rows), input_rows=input_rows, blocks=len(c_ns), calls_per_block=calls,
        ns_per_call_p50=round(p50, 3), ns_per_call_min=round(min(c_ns), 3),
        ns_per_call_max=round(max(c_ns), 3),
        floor=floor_key(n_features=info.n_features, outputs=info.outputs),
        floor_p50_ns=floor_ns, onnxruntime_p50_ns=student_ns,
        ratio_to_floor=round(p50 / floor_ns, 5), ratio_to_onnxruntime=round(p50 / student_ns, 5),
        macs=macs, ns_per_mac=round(p50 / macs, 4) if macs else 0.0)
    _log.info(f"C student {record.source}: {record.ns_per_call_p50:.1f} ns/call, "
              f"{record.ratio_to_floor:.4f}x the onnxruntime floor ({record.floor_p50_ns:.0f} ns), "
              f"{record.ns_per_mac:.3f} ns/MAC")
    return record


def _c_student(root: Path, prefix: str) -> tuple[tuple[Path, Path], ModelInfo]:
    """ROOT's C student (folder, .c) and the student graph it was generated from; refused when
    either is missing or the header names another graph than ROOT's student.onnx (a stale c/)."""
    found = c_sources(root, prefix)
    onnx_dir = resolve_models(root)[0]
    if found is None or not (onnx_dir / STUDENT_ONNX).is_file():
        raise KdedgeError(f"{root} has no C student ({C_DIR}/{prefix}.c, {C_DIR}/{prefix}.h) or no "
                          f"{STUDENT_ONNX}: run `kdedge export {root} --c` first")
    info = read_model_info(onnx_dir / STUDENT_ONNX)
    if info.error is not None:
        raise KdedgeError(info.error)
    made_from, actual = generated_from(found[0] / f"{prefix}.h"), sha256_file(info.path)
    if made_from is not None and made_from != actual:
        raise KdedgeError(f"{found[1]} was generated from a graph with sha256 {made_from[:12]}…, "
                          f"not from {info.path} ({actual[:12]}…): the C student is stale; "
                          f"re-export with `kdedge export {root} --c --force`")
    return found, info


def generated_from(header: Path) -> str | None:
    """The sha256 of the graph a generated header says it came from (its `From:` line), or None."""
    match = re.search(r"\(sha256 ([0-9a-f]{64})\)", header.read_text(encoding="utf-8",
                                                                   errors="replace"))
    return match.group(1) if match else None


def _onnxruntime_p50_ns(info, rows: np.ndarray, rule: RepetitionRule,
                        options: ort.SessionOptions) -> tuple[float, float]:
    """p50 (ns) at batch 1 of (the student, its floor graph) under onnxruntime, interleaved as
    `kdedge bench` times them (`measure_interleaved`, one row per call)."""
    floor = build_floor_model(input_name=info.input_name, n_features=info.n_features,
                              outputs=info.outputs)
    graphs = {"student": str(info.path), "floor": floor.SerializeToString()}
    feed = {info.input_name: np.ascontiguousarray(rows[:1])}
    calls = {}
    for name, graph in graphs.items():
        session = ort.InferenceSession(graph, sess_options=options,
                                       providers=["CPUExecutionProvider"])
        calls[name] = lambda s=session: s.run(None, feed)
    stats = measure_interleaved(calls, rule=rule)
    return round(stats["student"].p50_us * 1e3, 1), round(stats["floor"].p50_us * 1e3, 1)


def _c_ns_per_call(c_dir: Path, prefix: str, rows: np.ndarray, *, blocks: int,
                   block_time_s: float) -> tuple[list[float], int]:
    """ns per call of each timed block of the harness, built natively in a temporary folder."""
    require_toolchain(NATIVE)
    with tempfile.TemporaryDirectory(prefix="kdedge-c-bench-") as build:
        program = build_harness(NATIVE, c_dir, prefix, Path(build))
        calls, ns = run_timing(NATIVE, program, rows, blocks=blocks, block_time_s=block_time_s)
    return ns, calls
