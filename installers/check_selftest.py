"""Run a built Praxis's `selftest` and decide whether the build is good.

A build machine has no person's desktop: no display on Linux, no Screen Recording or
Accessibility permission on macOS, often no unlocked keyring. Those checks are reported but not
required unless named with --require; everything the build itself must get right (resources,
OCR models, encryption, storage, policy parsing) is.

    python installers/check_selftest.py dist/praxis/praxis [--require display,keyring]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

BUILD_CHECKS = (
    "storage",
    "encryption",
    "resources",
    "OCR models",
    "policy",
    "consent text",
    "buffer",
    "collector",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", help="the built praxis executable")
    parser.add_argument("--require", default="", help="more checks that must pass, comma-separated")
    args = parser.parse_args(argv)
    required = set(BUILD_CHECKS) | {c.strip() for c in args.require.split(",") if c.strip()}

    result = subprocess.run(
        [args.binary, "selftest", "--json"], capture_output=True, text=True, timeout=300
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        print(f"{args.binary} selftest printed no report (exit {result.returncode}):")
        print(result.stdout + result.stderr)
        return 2
    print(report["build"])
    missing = set(required)
    failed = []
    for check in report["checks"]:
        name = check["check"]
        missing.discard(name)
        needed = name in required
        mark = ("ok  " if check["ok"] else "FAIL") + ("  * " if needed else "    ")
        print(f"{mark}{name:<20} {check['detail']}")
        if needed and not check["ok"]:
            failed.append(name)
    if missing:
        print(f"the report lacks required checks: {', '.join(sorted(missing))}")
        return 1
    if failed:
        print(f"required checks failed: {', '.join(failed)}")
        return 1
    print("all required checks (*) passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
