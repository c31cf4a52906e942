import logging
import subprocess
import sys

import pytest

from kdedge.log import ROOT, configure, get_logger


@pytest.fixture(autouse=True)
def unconfigured():
    """kdedge's logger as a fresh process has it (no handler, level unset, propagating), and as
    it was after the test: the CLI tests configure it too."""
    logger = logging.getLogger(ROOT)
    saved = (list(logger.handlers), logger.level, logger.propagate)
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)
    logger.propagate = True
    yield logger
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


def test_get_logger_names_the_stage():
    assert get_logger("export").name == "kdedge.export" and get_logger().name == "kdedge"


def test_configure_prints_stage_prefixed_info_to_stderr(capsys):
    configure()
    get_logger("export").info("wrote onnx/student.onnx")
    get_logger().info("plain")
    assert capsys.readouterr() == ("", "[export] wrote onnx/student.onnx\nplain\n")


def test_configure_quiet_keeps_only_warnings(capsys):
    configure(quiet=True)
    get_logger("bench").info("timing student.onnx")
    get_logger("bench").warning("emulated machine")
    assert capsys.readouterr().err == "[bench] WARNING emulated machine\n"


def test_configure_twice_does_not_duplicate_lines(capsys):
    configure(quiet=True)
    configure()
    get_logger("distill").info("once")
    assert capsys.readouterr().err == "[distill] once\n"


def test_configure_leaves_handlers_others_added(unconfigured):
    other = logging.NullHandler()
    unconfigured.addHandler(other)
    configure()
    configure()
    assert other in unconfigured.handlers and len(unconfigured.handlers) == 2


def test_library_call_without_configure_prints_no_info(capsys, tmp_path):
    from kdedge.distill import distill

    distill(data="iris", features=2, out=str(tmp_path / "r"), max_epochs=2, patience=1)
    assert capsys.readouterr() == ("", "")


def test_unconfigured_process_shows_warnings_but_not_info():
    code = ("from kdedge.log import get_logger\n"
            "get_logger('export').info('progress')\n"
            "get_logger('export').warning('careful')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout == "" and result.stderr == "careful\n"
