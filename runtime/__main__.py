"""`python -m kdedge.runtime bench|check|compare|predict ...`: the device-side commands without the
full CLI.

The same functions as `kdedge bench` and `kdedge predict`; useful where only the runtime is
installed (Dockerfile.arm, scripts/arm_check.sh). Flags are converted as the `kdedge` command
converts them (each stage's PARAMETERS: `--batch_sizes=8` is the list [8], `--target=5` the name
"5", `--keep=id,name` the list ["id", "name"]). A `KdedgeError` (an existing bench JSON without
--force, a folder without models) ends as one `kdedge: error: ...` line and exit status 2, as
from `kdedge`, not as a traceback.
"""

import functools
import sys

import fire

from kdedge.log import configure
from kdedge.params import from_cli
from kdedge.rundir import KdedgeError
from kdedge.runtime import bench, predict
from kdedge.runtime.check import check, compare_outputs


def _with_cli_flags(function, parameters):
    """`function` with its flags converted by its stage's PARAMETERS (as `kdedge` does)."""

    @functools.wraps(function)
    def call(*args, **flags):
        return function(*args, **from_cli(parameters, flags))

    return call


def main(argv: list[str] | None = None) -> None:
    configure()  # progress lines on stderr, as `kdedge bench` prints them
    commands = {"bench": _with_cli_flags(bench.bench, bench.PARAMETERS), "check": check,
                "compare": compare_outputs,
                "predict": _with_cli_flags(predict.predict, predict.PARAMETERS)}
    try:
        fire.Fire(commands, command=argv, name="python -m kdedge.runtime")
    except KdedgeError as exc:
        print(f"kdedge: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
