#!/bin/bash
# Affected subsets, today's default and the second passage judged when within 0.05.
cd /tmp/wt
PY=/work/main/.venv/bin/python
export RAG_PASSAGE_STATES_DIR=/tmp/s26/states
for w in 0 0.05; do
  $PY -m rag.cli eval --gold /tmp/s26/gold-close.jsonl --corpus /work/main/seeds --index /work/main/index --reports /tmp/s26/gold-$w --set judge_second_within=$w > /tmp/s26/gold-$w.log 2>&1
  $PY -m rag.cli eval --gold /tmp/s26/devfit-close.jsonl --corpus /work/main/eval/xquad-dev/corpus --index /work/main/index-xquad --reports /tmp/s26/devfit-$w --set judge_second_within=$w > /tmp/s26/devfit-$w.log 2>&1
  $PY -m rag.cli eval --gold /tmp/s26/devsmall-close.jsonl --corpus /work/main/eval/xquad-dev/corpus --index /work/main/index-xquad --reports /tmp/s26/devsmall-$w --set judge_second_within=$w > /tmp/s26/devsmall-$w.log 2>&1
done
echo done
