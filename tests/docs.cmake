# Docs that run (label docs): every shell and Python block of README.md,
# docs/*.md, analysis/README.md and python/README.md in a scratch copy of the
# tree (tests/docs/test_docs.py says how; blocks marked
# <!-- docs-test: skip REASON --> are only illustrative). Training runs stop
# after ADVML_DOCS_MAX_STEPS steps. Not in the sanitizer run (scripts/test.sh).
add_test(NAME docs_examples COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/docs/test_docs.py)
set_tests_properties(docs_examples PROPERTIES ENVIRONMENT "${ADVML_TEST_ENV};ADVML_DOCS_MAX_STEPS=20"
  LABELS docs TIMEOUT 1800)
