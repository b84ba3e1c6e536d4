"""What the macro costs a deploy, as ratios against what the deploy pays anyway.

Every figure is a ratio against a baseline measured in the same process on the same input (or, for the
import time, a baseline subprocess next to the measured one), so the results carry over between
machines. There are no absolute-time assertions: the goals are printed next to the ratios.

- handler / JSON round trip: ``handler(event, None)`` against ``json.loads(json.dumps(fragment))`` of
  the same fragment, the floor Lambda pays anyway to read the event and write the response. Goal <= 1.0x.
- handler / SAM: against aws-sam-translator translating the SAM source of the same template (what every
  SAM deploy runs before the macro). Goal <= 5 %.
- growth: handler time per resource at 4x and 16x, divided by the same at 1x (linear is ~1.0).
- import: ``import sfn_exact_version.handler`` in a fresh interpreter, minus an interpreter that imports
  nothing; with the bytecode cache, and as deployed (the ``sam build`` package has no ``.pyc`` files and
  Lambda's code directory is read-only, so a cold start compiles what it imports). Goal < 80 ms.
- package size: the ``sam build`` artifact when the ``sam`` CLI is available, else the installed size of
  aws-lambda-powertools (and its dependencies) plus the core modules. Goal < 10 MB.
- memory: one handler call on the largest input, in a fresh process: tracemalloc peak, resident set
  growth during the call and the process's peak resident set (``resource.getrusage``). Goal: well
  inside a 128 MB Lambda.

Usage: ``python benchmarks/run.py`` (``make bench``); ``--quick`` for fewer repeats and no build;
``--profile 16`` prints a cProfile of the handler on the 16x input; ``--json FILE`` saves the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import gc
import io
import json
import os
import platform
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MACRO = ROOT / "macro"
for entry in (str(MACRO), str(HERE)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import generate  # noqa: E402  (benchmarks/generate.py)

SIZES = (1, 4, 16)
MB = 1024 * 1024

GOAL_ROUND_TRIP = 1.0  # handler time / JSON round trip
GOAL_DENSE_ROUND_TRIP = 2.0  # the same on the call-dense template (generate.generate_dense)
GOAL_SAM = 0.05  # handler time / SAM translation
GOAL_IMPORT_MS = 80.0
GOAL_PACKAGE_MB = 10.0
LAMBDA_MEMORY_MB = 128


# ------------------------------------------------------------------------------------ helpers
def median_times(
    functions: dict[str, Callable[[], Any]], repeat: dict[str, int]
) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) time of each function, the calls interleaved (A, B, C, A, B, C, ...) so that
    a change of machine load affects every baseline alike. A collection runs before each call; the
    collector stays on during it, as in Lambda. Wall time is ``time.perf_counter``; CPU time
    (``time.process_time``) leaves out the time other processes of a busy machine take."""
    wall: dict[str, list[float]] = {name: [] for name in functions}
    cpu: dict[str, list[float]] = {name: [] for name in functions}
    for round_ in range(max(repeat.values())):
        for name, function in functions.items():
            if round_ >= repeat[name]:
                continue
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            function()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in functions}


def silence_handler_log() -> None:
    """Send the handler's log to /dev/null: it is still formatted (Lambda pays for that), not printed."""
    from sfn_exact_version import handler as handler_module

    sink = open(os.devnull, "w")  # noqa: SIM115  (kept open for the life of the process)
    for log_handler in handler_module.logger.handlers:
        if hasattr(log_handler, "setStream"):
            log_handler.setStream(sink)


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}x"


def fmt_percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- inputs
def build_inputs(sizes: tuple[int, ...], seed: int) -> dict[int, dict[str, Any]]:
    inputs = {}
    for size in sizes:
        sam = generate.generate_sam(size, seed)
        cfn = generate.translate(sam)
        event = generate.macro_event(cfn)
        inputs[size] = {"sam": sam, "event": event}
    return inputs


# ------------------------------------------------------------------------------ timing ratios
def round_trip_json(fragment: Any) -> Any:
    """What Lambda does anyway: the event read from JSON, the response written as JSON."""
    return json.loads(json.dumps(fragment))


def measure_times(
    inputs: dict[int, dict[str, Any]], repeat: int, sam_repeat: int
) -> dict[int, dict[str, Any]]:
    from sfn_exact_version.handler import handler

    results: dict[int, dict[str, Any]] = {}
    for size, data in inputs.items():
        event, sam = data["event"], data["sam"]
        fragment = event["fragment"]
        before = json.dumps(fragment, sort_keys=True)
        response = handler(event, None)  # warm-up; also checks the call succeeds
        if response.get("status") != "success":
            raise SystemExit(f"size {size}: the handler failed: {response.get('errorMessage')}")
        if json.dumps(fragment, sort_keys=True) != before:
            raise SystemExit(f"size {size}: the handler modified its input")
        output = response["fragment"]
        round_trip_json(fragment)
        generate.translate(sam)
        medians = median_times(
            {
                "round_trip": functools.partial(round_trip_json, fragment),
                "handler": functools.partial(handler, event, None),
                "sam": functools.partial(generate.translate, sam),
            },
            {"round_trip": repeat, "handler": repeat, "sam": sam_repeat},
        )
        (round_trip, round_trip_cpu), (handler_time, handler_cpu) = medians["round_trip"], medians["handler"]
        sam_time, sam_cpu = medians["sam"]
        facts_in = generate.limits(fragment)
        facts_out = generate.limits(output)
        report = output["Metadata"]["SfnExactVersion"]
        results[size] = {
            "resources_in": facts_in["resources"],
            "resources_out": facts_out["resources"],
            "bytes_in": facts_in["bytes"],
            "bytes_out": facts_out["bytes"],
            "within_limits": facts_out["within"],
            "pinned": len(report["Pinned"]),
            "versions": len(report["Versions"]),
            "handler_s": handler_time,
            "handler_cpu_s": handler_cpu,
            "round_trip_s": round_trip,
            "sam_s": sam_time,
            "vs_round_trip": handler_time / round_trip,
            "vs_sam": handler_time / sam_time,
            "cpu_vs_round_trip": handler_cpu / round_trip_cpu,
            "cpu_vs_sam": handler_cpu / sam_cpu,
        }
    base = results[min(results)]
    for values in results.values():
        for clock, suffix in (("handler_s", ""), ("handler_cpu_s", "_cpu")):
            per_resource = values[clock] / values["resources_in"]
            per_byte = values[clock] / values["bytes_in"]
            values["growth_per_resource" + suffix] = per_resource / (base[clock] / base["resources_in"])
            values["growth_per_byte" + suffix] = per_byte / (base[clock] / base["bytes_in"])
    return results


def dense_event() -> dict[str, Any]:
    """The macro's event for the call-dense template (every state a Lambda call)."""
    return generate.macro_event(generate.translate(generate.generate_dense()))


def measure_dense(repeat: int) -> dict[str, Any]:
    """Handler against a JSON round trip on the call-dense template."""
    from sfn_exact_version.handler import handler

    event = dense_event()
    fragment = event["fragment"]
    response = handler(event, None)
    if response.get("status") != "success":
        raise SystemExit(f"call-dense: the handler failed: {response.get('errorMessage')}")
    medians = median_times(
        {
            "round_trip": functools.partial(round_trip_json, fragment),
            "handler": functools.partial(handler, event, None),
        },
        {"round_trip": repeat, "handler": repeat},
    )
    (round_trip, round_trip_cpu), (handler_time, handler_cpu) = medians["round_trip"], medians["handler"]
    output = response["fragment"]
    return {
        "bytes_in": generate.limits(fragment)["bytes"],
        "bytes_out": generate.limits(output)["bytes"],
        "resources_out": generate.limits(output)["resources"],
        "pinned": len(output["Metadata"]["SfnExactVersion"]["Pinned"]),
        "handler_s": handler_time,
        "round_trip_s": round_trip,
        "vs_round_trip": handler_time / round_trip,
        "cpu_vs_round_trip": handler_cpu / round_trip_cpu,
    }


# -------------------------------------------------------------------------------- import time
IMPORTTIME_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def _run_python(
    code: str, *, env: dict[str, str] | None = None, importtime: bool = False
) -> tuple[float, float, str]:
    """Run ``python -c code``: (wall seconds, CPU seconds of the child, its stderr)."""
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit(f"subprocess failed: {' '.join(command)}\n{completed.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, completed.stderr


def measure_import(code_dir: Path, repeat: int, *, no_bytecode: bool) -> dict[str, Any]:
    """Import the handler from ``code_dir`` in fresh interpreters, minus interpreters that import
    nothing: wall time, and CPU time of the child (steadier on a busy machine); and what
    ``-X importtime`` counts for the handler module."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    if no_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    setup = f"import sys; sys.path.insert(0, {str(code_dir)!r})"
    measured = f"{setup}; import sfn_exact_version.handler"
    _run_python(measured, env=env)  # warm the file system cache (and the bytecode cache, when used)
    runs: dict[str, list[float]] = {"wall": [], "cpu": [], "base_wall": [], "base_cpu": [], "importtime": []}
    top: list[tuple[int, str]] = []
    for _ in range(repeat):
        wall, cpu, _ = _run_python(setup, env=env)
        runs["base_wall"].append(wall)
        runs["base_cpu"].append(cpu)
        wall, cpu, _ = _run_python(measured, env=env)
        runs["wall"].append(wall)
        runs["cpu"].append(cpu)
        _, _, stderr = _run_python(measured, env=env, importtime=True)
        total, top = _importtime(stderr)
        runs["importtime"].append(total / 1e6)
    median = {key: statistics.median(values) for key, values in runs.items()}
    return {
        "wall_minus_baseline_ms": (median["wall"] - median["base_wall"]) * 1000,
        "cpu_minus_baseline_ms": (median["cpu"] - median["base_cpu"]) * 1000,
        "importtime_ms": median["importtime"] * 1000,
        "top": top,
    }


def _importtime(stderr: str) -> tuple[int, list[tuple[int, str]]]:
    """Cumulative microseconds of ``sfn_exact_version.handler``; the heaviest imports directly under it."""
    entries = []
    for line in stderr.splitlines():
        match = IMPORTTIME_LINE.match(line)
        if match:
            entries.append((int(match.group(2)), len(match.group(3)), match.group(4)))
    position = next(
        (i for i, (_, _, name) in enumerate(entries) if name == "sfn_exact_version.handler"), None
    )
    if position is None:
        return 0, []
    # -X importtime prints an import's children (deeper indentation) on the lines just before it.
    children = []
    for cumulative, depth, name in reversed(entries[:position]):
        if depth <= entries[position][1]:
            break
        if depth == entries[position][1] + 2:
            children.append((cumulative, name))
    return entries[position][0], sorted(children, reverse=True)[:5]


# ------------------------------------------------------------------------------- package size
def find_sam() -> str | None:
    local = ROOT / ".venv" / "bin" / "sam"
    if local.exists():
        return str(local)
    return shutil.which("sam")


def sam_build(sam: str, build_dir: Path) -> Path:
    """``sam build`` of the project's template.yaml into ``build_dir``; the function's artifact directory."""
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    venv_bin = ROOT / ".venv" / "bin"
    if venv_bin.exists():
        env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    command = [sam, "build", "--template-file", str(ROOT / "template.yaml"), "--build-dir", str(build_dir)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"sam build failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    return build_dir / "MacroFunction"


def directory_size(path: Path) -> tuple[int, int, int]:
    """(files, bytes on disk as file sizes, bytes zipped with deflate) of a directory tree."""
    files, total = 0, 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                files += 1
                total += file.stat().st_size
                archive.write(file, file.relative_to(path))
    return files, total, len(buffer.getvalue())


def installed_package_size() -> tuple[int, int, int]:
    """The pip-installed files of aws-lambda-powertools and its dependencies, plus the core modules."""
    from importlib import metadata

    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch)
        for dist_name in ("aws-lambda-powertools", "jmespath", "typing-extensions"):
            dist = metadata.distribution(dist_name)
            for file in dist.files or []:
                source = Path(str(dist.locate_file(file)))
                if source.is_file() and "__pycache__" not in file.parts:
                    destination = target / str(file)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, destination)
        core = target / "sfn_exact_version"
        core.mkdir()
        for module in (MACRO / "sfn_exact_version").glob("*.py"):
            shutil.copyfile(module, core / module.name)
        (core / "definitions").mkdir()
        for module in (MACRO / "sfn_exact_version" / "definitions").glob("*.py"):
            shutil.copyfile(module, core / "definitions" / module.name)
        return directory_size(target)


# -------------------------------------------------------------------------------------- memory
def _proc_status(field: str) -> int | None:
    """A ``/proc/self/status`` memory figure in kB (Linux), else None."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the kernel's resident-set high-water mark of this process (Linux: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def memory_child(event_file: str) -> None:
    """Run in a fresh interpreter: one handler call, its memory; prints JSON on stdout.

    ``getrusage``'s ``ru_maxrss`` survives ``exec``: a child forked from the large benchmark process
    starts with the parent's peak. Where Linux offers it, the peak is therefore read from
    ``/proc/self/status`` (``VmHWM``, reset just before the call); ``ru_maxrss`` is the fallback.
    """
    with open(event_file, encoding="utf-8") as handle:
        event = json.load(handle)
    from sfn_exact_version.handler import handler

    silence_handler_log()
    gc.collect()
    precise = _reset_peak() and _proc_status("VmRSS") is not None
    # both in kB (ru_maxrss is in kB on Linux)
    before = (_proc_status("VmRSS") or 0) if precise else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    handler(event, None)
    after = (_proc_status("VmHWM") or 0) if precise else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gc.collect()
    tracemalloc.start()
    handler(event, None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "rss_source": "VmHWM" if precise else "ru_maxrss",
                "rss_before_kb": before,
                "rss_peak_kb": after,
                "rss_growth_kb": after - before,
                "tracemalloc_peak": peak,
            }
        )
    )


def measure_memory(event: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        event_file = Path(scratch) / "event.json"
        event_file.write_text(json.dumps(event), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(MACRO)}
        completed = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--memory-child", str(event_file)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    if completed.returncode != 0:
        raise SystemExit(f"memory measurement failed:\n{completed.stderr}")
    measured: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return measured


# ------------------------------------------------------------------------------------- profile
def profile(event: dict[str, Any], lines: int = 30) -> str:
    from sfn_exact_version.handler import handler

    handler(event, None)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        handler(event, None)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines)
    return out.getvalue()


# ------------------------------------------------------------------------------------- report
def _both(values: dict[str, Any], wall: str, cpu: str, fmt: Callable[[float], str]) -> str:
    return f"{fmt(values[wall])} ({fmt(values[cpu])})"


def print_report(results: dict[str, Any]) -> None:
    info = results["machine"]
    print(f"sfn-exact-version benchmark — {info['cpu']}, {info['cores']} cores, Python {info['python']}")
    print(f"inputs: benchmarks/generate.py seed {results['seed']}; SAM translation: {results['translator']}")
    load = info.get("load")
    if load is not None:
        busy = "  (busy: other processes share the cores, so wall times vary; the CPU-time ratios less)"
        print(f"load average at start: {load:.1f}{busy if load > (info['cores'] or 1) else ''}")
    print()
    times = results["times"]
    rows = []
    for size, values in times.items():
        rows.append(
            [
                f"{size}x",
                f"{values['resources_in']} -> {values['resources_out']}",
                f"{values['bytes_in'] / 1000:.0f} -> {values['bytes_out'] / 1000:.0f}",
                str(values["pinned"]),
                _both(values, "vs_round_trip", "cpu_vs_round_trip", fmt_ratio),
                _both(values, "vs_sam", "cpu_vs_sam", fmt_percent),
                _both(values, "growth_per_resource", "growth_per_resource_cpu", fmt_ratio),
                _both(values, "growth_per_byte", "growth_per_byte_cpu", fmt_ratio),
                " / ".join(f"{values[key] * 1000:.1f}" for key in ("handler_s", "round_trip_s", "sam_s")),
            ]
        )
    print(
        table(
            [
                "size",
                "resources",
                "kB (JSON)",
                "pinned",
                "handler/round trip (CPU)",
                "handler/SAM (CPU)",
                "growth per resource (CPU)",
                "growth per kB (CPU)",
                "ms: handler / round trip / SAM (this machine)",
            ],
            rows,
        )
    )
    largest = times[max(times)]
    dense = results.get("dense")
    if dense:
        print(
            f"call-dense ({generate.DENSE_MACHINES} state machines x {generate.DENSE_STATES} Lambda calls, "
            f"{dense['bytes_in'] / 1000:.0f} -> {dense['bytes_out'] / 1000:.0f} kB, "
            f"{dense['pinned']} pinned): "
            f"handler / round trip {fmt_ratio(dense['cpu_vs_round_trip'])} CPU "
            f"({fmt_ratio(dense['vs_round_trip'])} wall); ms {dense['handler_s'] * 1000:.0f} / "
            f"{dense['round_trip_s'] * 1000:.0f}"
        )
    print("Ratios of median wall times (in brackets: of median CPU times of this process). Growth: handler")
    print("time per resource or per kB of input, relative to 1x. The last column is for orientation only.")
    print("The goals below are judged on CPU time: the handler is single-threaded and does no I/O, so on an")
    print("idle machine its CPU time is its wall time, and CPU time is not inflated by other processes.")
    print()
    goals = [
        [
            "handler / JSON round trip (16x)",
            f"{fmt_ratio(largest['cpu_vs_round_trip'])} CPU ({fmt_ratio(largest['vs_round_trip'])} wall)",
            f"<= {GOAL_ROUND_TRIP:.1f}x",
            verdict(largest["cpu_vs_round_trip"] <= GOAL_ROUND_TRIP),
        ],
        *(
            [
                [
                    "handler / JSON round trip (call-dense)",
                    f"{fmt_ratio(dense['cpu_vs_round_trip'])} CPU ({fmt_ratio(dense['vs_round_trip'])} wall)",
                    f"<= {GOAL_DENSE_ROUND_TRIP:.1f}x",
                    verdict(dense["cpu_vs_round_trip"] <= GOAL_DENSE_ROUND_TRIP),
                ]
            ]
            if dense
            else []
        ),
        [
            "handler / SAM translation (16x)",
            f"{fmt_percent(largest['cpu_vs_sam'])} CPU ({fmt_percent(largest['vs_sam'])} wall)",
            f"<= {GOAL_SAM * 100:.0f} %",
            verdict(largest["cpu_vs_sam"] <= GOAL_SAM),
        ],
        [
            "  for scale: JSON round trip / SAM (16x)",
            f"{fmt_percent(largest['round_trip_s'] / largest['sam_s'])}",
            "(the floor of the line above)",
            "",
        ],
        [
            "growth per resource, 16x vs 1x",
            f"{fmt_ratio(largest['growth_per_resource_cpu'])} CPU "
            f"({fmt_ratio(largest['growth_per_resource'])} wall)",
            "~1.0x (linear)",
            verdict(largest["growth_per_resource_cpu"] <= 1.5),
        ],
        [
            "16x output within CloudFormation limits",
            str(largest["within_limits"]),
            "500 resources, 1 MB",
            verdict(largest["within_limits"]),
        ],
    ]
    for label, key in (("import, bytecode cached", "cached"), ("import, as deployed (no .pyc)", "deployed")):
        data = results["import"].get(key)
        if data:
            goals.append(
                [
                    label,
                    f"{data['cpu_minus_baseline_ms']:.0f} ms CPU "
                    f"(wall {data['wall_minus_baseline_ms']:.0f} ms, "
                    f"-X importtime {data['importtime_ms']:.0f} ms)",
                    f"< {GOAL_IMPORT_MS:.0f} ms",
                    verdict(data["cpu_minus_baseline_ms"] < GOAL_IMPORT_MS),
                ]
            )
    package = results["package"]
    goals.append(
        [
            f"package size ({package['method']})",
            f"{package['bytes'] / MB:.2f} MB ({package['zipped'] / MB:.2f} MB zipped, "
            f"{package['files']} files)",
            f"< {GOAL_PACKAGE_MB:.0f} MB",
            verdict(package["bytes"] / MB < GOAL_PACKAGE_MB),
        ]
    )
    memory = results["memory"]
    goals.append(
        [
            "memory of one call (16x)",
            f"tracemalloc peak {memory['tracemalloc_peak'] / MB:.1f} MB, "
            f"RSS +{memory['rss_growth_kb'] / 1024:.1f} MB, "
            f"process peak {memory['rss_peak_kb'] / 1024:.0f} MB",
            f"well inside {LAMBDA_MEMORY_MB} MB",
            verdict(memory["rss_peak_kb"] / 1024 < LAMBDA_MEMORY_MB / 2),
        ]
    )
    print(table(["goal", "measured", "target", ""], goals))
    for key in ("cached", "deployed"):
        data = results["import"].get(key)
        if data and data["top"]:
            heaviest = ", ".join(f"{name} {cum / 1000:.0f} ms" for cum, name in data["top"])
            print(f"\nheaviest imports under the handler ({key}): {heaviest}")


# ---------------------------------------------------------------------------------------- main
@contextlib.contextmanager
def _scratch(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="sfn-bench-") as scratch:
        yield Path(scratch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark the SfnExactVersion macro (ratios against baselines)."
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no sam build")
    parser.add_argument(
        "--repeat", type=int, default=None, help="timed repeats of the handler and round trip"
    )
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument(
        "--no-build", action="store_true", help="measure the pip-installed size, not sam build"
    )
    parser.add_argument("--build-dir", type=Path, default=None, help="keep the sam build output here")
    parser.add_argument(
        "--profile", type=int, metavar="SIZE", help="print a cProfile of the handler and stop"
    )
    parser.add_argument(
        "--profile-dense", action="store_true", help="print a cProfile on the call-dense template and stop"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child:
        memory_child(args.memory_child)
        return 0

    silence_handler_log()
    if args.profile:
        inputs = build_inputs((args.profile,), args.seed)
        print(profile(inputs[args.profile]["event"]))
        return 0
    if args.profile_dense:
        print(profile(dense_event()))
        return 0

    repeat = args.repeat or (5 if args.quick else 21)
    sam_repeat = 3 if args.quick else 7
    import_repeat = 3 if args.quick else 9
    results: dict[str, Any] = {
        "machine": machine(),
        "seed": args.seed,
        "translator": generate.translator_name(),
    }

    inputs = build_inputs(SIZES, args.seed)
    results["times"] = measure_times(inputs, repeat, sam_repeat)
    results["dense"] = measure_dense(repeat)

    results["import"] = {"cached": measure_import(MACRO, import_repeat, no_bytecode=False)}
    sam = None if (args.quick or args.no_build) else find_sam()
    with _scratch(args.build_dir) as scratch:
        if sam is not None:
            try:
                artifact = sam_build(sam, scratch / "build")
            except RuntimeError as error:
                print(f"note: {error}; measuring the installed size instead", file=sys.stderr)
                sam = None
        if sam is not None:
            files, size, zipped = directory_size(artifact)
            method = "sam build artifact"
            results["import"]["deployed"] = measure_import(artifact, import_repeat, no_bytecode=True)
        else:
            files, size, zipped = installed_package_size()
            method = "installed powertools + deps + core modules"
    results["package"] = {"method": method, "files": files, "bytes": size, "zipped": zipped}
    results["memory"] = measure_memory(inputs[max(inputs)]["event"])

    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
