"""Host side of scripts/arm_check.sh (x86-64, the repository's .venv).

  dump RUN --out FILE.npz          outputs of every model of RUN on its X_test (kdedge.runtime.check)
  record RUN REL_PATH              check RUN/REL_PATH is a bench JSON; add it to RUN/run.json (stage
                                   "bench"), if run.json exists
  compare X86.npz ARM.npz --atol A exit 1 unless every model's labels match and probabilities agree
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kdedge.contract import RUN_JSON, BenchReport, read_record
from kdedge.rundir import update_manifest
from kdedge.runtime.check import check, compare_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    dump = sub.add_parser("dump")
    dump.add_argument("run")
    dump.add_argument("--out", required=True)
    record = sub.add_parser("record")
    record.add_argument("run")
    record.add_argument("relative_path")
    compare = sub.add_parser("compare")
    compare.add_argument("reference")
    compare.add_argument("candidate")
    compare.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args(argv)

    if args.command == "dump":
        check(args.run, out=args.out)
        return 0
    if args.command == "record":
        report = read_record(BenchReport, Path(args.run) / args.relative_path)  # a valid bench JSON
        if (Path(args.run) / RUN_JSON).is_file():
            update_manifest(args.run, stage="bench", files=[args.relative_path],
                            info={"target": report.target, "emulated": report.machine.emulated})
        return 0
    result = compare_outputs(args.reference, args.candidate, atol=args.atol)
    for model, entry in result["models"].items():
        verdict = "same" if entry["ok"] else "DIFFERENT"
        print(f"[arm-check] {model:<28} {verdict}: max |dp| {entry['max_abs_diff']:.2e} "
              f"(tolerance {entry['atol']:g}), {entry['label_mismatches']} label mismatch(es) "
              f"(allowed {entry['max_label_mismatch_fraction']:.0%}){' - ' + entry['problem'] if 'problem' in entry else ''}")
    print(f"[arm-check] {'PASS' if result['ok'] else 'FAIL'}: aarch64 vs x86-64 onnxruntime outputs "
          f"{'agree' if result['ok'] else 'differ'} (fp32 and int8: labels equal, probabilities within {args.atol:g}; "
          f"fp16 and int8-static: the stated platform tolerance)")
    if not result["ok"]:
        print(json.dumps(result, indent=2), file=sys.stderr)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
