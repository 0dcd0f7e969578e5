#!/bin/bash
# baseline (no variant), A, B on gold then devfit200
cd /tmp/wt27
PY=/work/main/.venv/bin/python
export RAG_PASSAGE_STATES_DIR=/tmp/s27/states
for v in base A B; do
  if [ $v = base ]; then unset EXP_EXAMPLES; else export EXP_EXAMPLES=$v; fi
  $PY -m rag.cli eval --corpus /work/main/seeds --index /work/main/index --reports /tmp/s27/gold-$v > /tmp/s27/gold-$v.log 2>&1
done
for v in base A B; do
  if [ $v = base ]; then unset EXP_EXAMPLES; else export EXP_EXAMPLES=$v; fi
  $PY -m rag.cli eval --gold /tmp/s27/devfit200.jsonl --corpus /work/main/eval/xquad-dev/corpus --index /work/main/index-xquad --reports /tmp/s27/devfit-$v > /tmp/s27/devfit-$v.log 2>&1
done
echo done > /tmp/s27/run.done
