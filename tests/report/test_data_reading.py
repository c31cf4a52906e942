"""Tests of how the report says the data was read (run.json's data_reading,
`sections.reading_text`): in memory on one process, or streamed on several, in both languages."""

from __future__ import annotations

import html
import shutil

import pytest

from kdedge.contract import MEMORY_SPLIT_RULE, DataReading, in_memory_reading, write_record
from kdedge.report import make_report
from kdedge.report.sections import reading_text
from kdedge.rundir import read_json, read_manifest, write_json_atomic
from kdedge.stream import SHARD_RULE, SHUFFLE_ROWS, make_split_rule
from kdedge.tables import CHUNK_ROWS

SAMPLE_ROWS = 100_213  # training rows a streamed run kept in memory
STREAMED_EN = ("streamed from disk in record batches of 65,536 rows (shuffle buffer 262,144 rows; "
               "100,213 training rows held in memory for the baselines and the search), trained "
               "on 2 processes (gloo, DDP); split: “{rule}”")
STREAMED_ZH = ("从磁盘分批流式读取，每批 65,536 行（打乱缓冲区 262,144 行；内存中保留 100,213 行训练数据，"
               "供基线模型和规模搜索使用），在 2 个进程上训练（gloo, DDP）；划分规则（英文原文）：“{rule}”")
MEMORY_EN = ("whole, in memory, one process; split: scikit-learn train_test_split, stratified, "
             "random_state = seed: the test rows first, then the validation rows from the rest")
MEMORY_ZH = ("整表读入内存，单进程；划分：scikit-learn train_test_split 分层抽样，random_state = 随机种子；"
             "先分出测试集，再从其余行中分出验证集")


def _streamed() -> DataReading:
    """What distill records when it streams a 1,000,000-row table on two gloo processes."""
    rule = make_split_rule(1_000_000, test_size=0.2, val_size=0.25, seed=0).describe()
    return DataReading(mode="streamed", world_size=2, backend="gloo", split_rule=rule,
                       shard_rule=SHARD_RULE, chunk_rows=CHUNK_ROWS, shuffle_rows=SHUFFLE_ROWS,
                       sample_rows=SAMPLE_ROWS)


def test_reading_text_streamed_two_processes_quotes_the_split_rule():
    reading = _streamed()
    assert reading_text(reading, "en") == STREAMED_EN.format(rule=reading.split_rule)
    assert reading_text(reading, "zh") == STREAMED_ZH.format(rule=reading.split_rule)


def test_reading_text_memory_one_process_translates_the_split_rule():
    reading = in_memory_reading(MEMORY_SPLIT_RULE)
    assert reading_text(reading, "en") == MEMORY_EN
    assert reading_text(reading, "zh") == MEMORY_ZH


def test_reading_text_memory_on_processes_without_backend_names_ddp():
    reading = in_memory_reading("rows by hash")
    reading.world_size = 3
    assert reading_text(reading, "en") == ("whole, in memory, trained on 3 processes (DDP); "
                                           "split: “rows by hash”")


@pytest.fixture(scope="module")
def streamed_copy(small_run, tmp_path_factory):
    """A copy of the distill-only session run whose run.json says it was streamed on two gloo
    processes (written through the Manifest record; the recorded sha256s stay valid: run.json
    is not among them)."""
    run = shutil.copytree(small_run, tmp_path_factory.mktemp("reading") / "run")
    manifest = read_manifest(run)
    manifest.data_reading = _streamed()
    write_record(run / "run.json", manifest)
    return run


# the default language end to end (English: the same template, test_reading_text_* above)
@pytest.mark.parametrize(("lang", "label", "expected"), [("zh", "读取方式", STREAMED_ZH)])
def test_make_report_streamed_run_says_how_it_was_read(streamed_copy, lang, label, expected):
    make_report(streamed_copy, lang=lang)
    rule = read_manifest(streamed_copy).data_reading.split_rule
    line = f"{label}: {expected.format(rule=rule)}"
    markdown = (streamed_copy / "report.md").read_text(encoding="utf-8")
    page = (streamed_copy / "report.html").read_text(encoding="utf-8")
    assert f"- {line}\n" in markdown
    assert f"<li>{html.escape(line)}</li>" in page  # the rule's "<" and ">>", escaped


def test_read_manifest_run_without_data_reading_reads_as_in_memory(small_run, tmp_path):
    """A run.json written before streaming existed has no data_reading: read whole, one process
    (the report's line for it: test_reading_text_memory_one_process_translates_the_split_rule)."""
    run = shutil.copytree(small_run, tmp_path / "run")
    assert read_manifest(run).data_reading == in_memory_reading(MEMORY_SPLIT_RULE)
    manifest = read_json(run / "run.json")
    del manifest["data_reading"]
    write_json_atomic(run / "run.json", manifest)
    assert read_manifest(run).data_reading == in_memory_reading(MEMORY_SPLIT_RULE)
