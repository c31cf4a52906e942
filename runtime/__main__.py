"""`python -m kdedge.runtime bench|check|compare ...`: the device-side commands without the full CLI.

The same functions as `kdedge bench`; useful where only the runtime is installed (Dockerfile.arm,
scripts/arm_check.sh).
"""

import fire

from kdedge.runtime.bench import bench
from kdedge.runtime.check import check, compare_outputs


def main() -> None:
    fire.Fire({"bench": bench, "check": check, "compare": compare_outputs})


if __name__ == "__main__":
    main()
