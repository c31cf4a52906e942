"""`kdedge --help` and `kdedge COMMAND --help`, rendered here rather than by fire: every flag with
its description and default, no types, printed straight to stdout (fire pipes long help through
a pager). The descriptions are the `Args:` sections of the command methods' docstrings.

Standard library only: `kdedge --help` imports no torch (`run --help` does: its flags are read
from the stages).
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable

WIDTH = 100
_ARG = re.compile(r"^(\*{0,2}\w+):\s*(.*)$")


def doc_summary(function: Callable) -> str:
    """The first paragraph of a docstring, joined onto one line."""
    doc = inspect.cleandoc(function.__doc__ or "")
    return " ".join(doc.split("\n\n")[0].split())


def doc_paragraphs(function: Callable) -> list[str]:
    """The paragraphs between the summary and `Args:`, each joined onto one line."""
    doc = inspect.cleandoc(function.__doc__ or "").split("\nArgs:")[0]
    return [" ".join(p.split()) for p in doc.split("\n\n")[1:] if p.strip()]


def doc_args(function: Callable) -> dict[str, str]:
    """{name: description} from a Google-style `Args:` section (continuation lines joined).

    fire's own parser cuts a description at text like "reported (default: ...)", which it
    reads as a new argument with a type; this one only reads `name:` at the section's indent.
    """
    lines = inspect.cleandoc(function.__doc__ or "").splitlines()
    if "Args:" not in lines:
        return {}
    found: dict[str, list[str]] = {}
    indent, name = None, None
    for line in lines[lines.index("Args:") + 1:]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if depth == 0:
            break  # the next section (Returns:, Raises:)
        indent = depth if indent is None else indent
        match = _ARG.match(line.strip())
        if depth == indent and match:
            name = match.group(1).lstrip("*")
            found[name] = [match.group(2)]
        elif name is not None:
            found[name].append(line.strip())
    return {key: " ".join(" ".join(parts).split()) for key, parts in found.items()}


def _wrap(text: str, indent: int) -> str:
    return textwrap.fill(text, WIDTH, initial_indent=" " * indent,
                         subsequent_indent=" " * indent)


def _flag_usage(name: str, parameter: inspect.Parameter, description: str) -> str:
    """`--name=NAME   default: X`; `--name` alone for a flag that is off by default. The default
    is left out where it is None or the description says it."""
    if parameter.default is False:
        return f"--{name}"
    usage = f"--{name}={name.upper()}"
    default = parameter.default
    if default is None or default is inspect.Parameter.empty or "default" in description:
        return usage
    if isinstance(default, tuple):
        default = ",".join(str(v) for v in default)
    return f"{usage}   default: {default}"


def flag_lines(flags: dict[str, inspect.Parameter], descriptions: dict[str, str]) -> list[str]:
    """Two or more lines per flag: its usage and default, then its description, indented."""
    lines = []
    for name, parameter in flags.items():
        description = descriptions.get(name, "")
        lines += [f"  {_flag_usage(name, parameter, description)}", _wrap(description, 6)]
    return lines


def command_help(command: str, function: Callable, positional: dict[str, inspect.Parameter],
                 groups: list[tuple[str, dict[str, inspect.Parameter], dict[str, str]]]) -> str:
    """The help of one command.

    Args:
        command: its name.
        function: the CLI method (its docstring gives the summary and the paragraphs).
        positional: arguments that may be given without a flag (`kdedge export RUN_DIR`).
        groups: (heading, flags, descriptions) sections, in order.
    """
    usage = " ".join([f"kdedge {command}", *(p.upper() for p in positional), "[--flag=VALUE ...]"])
    lines = [f"usage: {usage}", "", _wrap(doc_summary(function), 0)]
    lines += [line for paragraph in doc_paragraphs(function)
              for line in ("", _wrap(paragraph, 0))]
    if positional:
        described = doc_args(function)
        lines += ["", "arguments:"]
        for name in positional:
            lines += [f"  {name.upper()}  (or --{name}=VALUE)", _wrap(described.get(name, ""), 6)]
    for heading, flags, descriptions in groups:
        lines += ["", heading, *flag_lines(flags, descriptions)]
    return "\n".join(lines) + "\n"


def overview(summary: str, commands: dict[str, Callable], version: str) -> str:
    """`kdedge --help`: what kdedge does and one line per command."""
    width = max(len(name) for name in commands) + 2
    lines = [f"kdedge {version}: {summary}", "",
             "usage: kdedge COMMAND [--flag=VALUE ...]   (kdedge COMMAND --help lists its flags)",
             "", "commands:"]
    for name, function in commands.items():
        text = textwrap.fill(doc_summary(function), WIDTH - 2 - width,
                             subsequent_indent=" " * (2 + width))
        lines.append(f"  {name:<{width}}{text}")
    lines += ["", "flags:", "  --version", "      print kdedge's version", "  --help",
              "      this text; after a command, that command's flags"]
    return "\n".join(lines) + "\n"
