# version.cmake - write advml/version.h (from include/advml/version.h.in) with the
# project version and the source tree's git commit, "-dirty" appended when tracked
# files differ from it, "unknown" outside a git checkout. Run at configure time and,
# through the advml_version target, at every build, so a tool rebuilt after a pull
# or an edit records the commit it was built from. configure_file leaves the header
# untouched when its text is the same, so nothing recompiles needlessly.
#
# cmake -DSRC=<source dir> -DIN=<version.h.in> -DOUT=<version.h> -DVERSION=<x.y.z> -P version.cmake
get_filename_component(src_real "${SRC}" REALPATH)
# safe.directory: `sudo scripts/main-job.sh` builds a checkout another user owns,
# where git would otherwise refuse to answer
set(git git -c "safe.directory=${src_real}")
execute_process(COMMAND ${git} rev-parse --show-toplevel WORKING_DIRECTORY "${SRC}"
  OUTPUT_VARIABLE top OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND ${git} rev-parse --short=12 HEAD WORKING_DIRECTORY "${SRC}"
  OUTPUT_VARIABLE ADVML_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(top)
  get_filename_component(top "${top}" REALPATH)
endif()
# (a source tree copied into another project's checkout is not that project's commit)
if(NOT rc EQUAL 0 OR NOT ADVML_GIT_COMMIT OR NOT top STREQUAL src_real)
  set(ADVML_GIT_COMMIT "unknown")
else()
  execute_process(COMMAND ${git} status --porcelain --untracked-files=no WORKING_DIRECTORY "${SRC}"
    OUTPUT_VARIABLE changes ERROR_QUIET)
  if(changes)
    string(APPEND ADVML_GIT_COMMIT "-dirty")
  endif()
endif()
set(PROJECT_VERSION "${VERSION}")
configure_file("${IN}" "${OUT}" @ONLY)
