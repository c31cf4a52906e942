"""`python -m kdedge.runtime bench|check|compare ...`: the device-side commands without the full CLI.

The same functions as `kdedge bench`; useful where only the runtime is installed (Dockerfile.arm,
scripts/arm_check.sh). Flags of `bench` are converted as `kdedge bench` converts them (its
PARAMETERS: `--batch_sizes=8` is the list [8], `--target=5` the name "5").
"""

import functools

import fire

from kdedge.log import configure
from kdedge.params import from_cli
from kdedge.runtime.bench import PARAMETERS, bench
from kdedge.runtime.check import check, compare_outputs


@functools.wraps(bench)
def _bench(path, **flags):
    return bench(path, **from_cli(PARAMETERS, flags))


def main() -> None:
    configure()  # progress lines on stderr, as `kdedge bench` prints them
    fire.Fire({"bench": _bench, "check": check, "compare": compare_outputs})


if __name__ == "__main__":
    main()
