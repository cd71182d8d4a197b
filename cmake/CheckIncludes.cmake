# rr_check_includes(NAME <what> ROOT <source dir> FILES <files...> FORBID <regex...>): fails when one
# of <files>, or a project header it reaches through quoted includes, includes a header whose
# include text matches one of the FORBID regular expressions (matched against the text between
# the quotes or angle brackets, e.g. "torch/torch.h" or "train/loop.h"). The message names the
# chain of includes that reaches it. Quoted includes resolve against <source dir>/core and the
# including file's folder; headers outside the source tree are not followed.
function(rr_check_includes)
  cmake_parse_arguments(ARG "" "NAME;ROOT" "FILES;FORBID" ${ARGN})
  set(queue ${ARG_FILES})
  set(seen "")
  foreach(f IN LISTS queue)
    set(_via_${f} "${f}")
  endforeach()
  while(queue)
    list(POP_FRONT queue file)
    if(file IN_LIST seen)
      continue()
    endif()
    list(APPEND seen "${file}")
    file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    get_filename_component(dir "${file}" DIRECTORY)
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"].*$" "\\1" inc "${line}")
      foreach(re IN LISTS ARG_FORBID)
        if(inc MATCHES "${re}")
          string(REPLACE "${ARG_ROOT}/" "" chain "${_via_${file}}")
          message(FATAL_ERROR "${ARG_NAME}: ${chain} includes ${inc}, which ${ARG_NAME} must not "
                              "reach (docs/ARCHITECTURE.md, \"Boundaries\").")
        endif()
      endforeach()
      if(line MATCHES "\"")
        set(target "")
        foreach(base "${ARG_ROOT}/core" "${dir}")
          if(NOT target AND EXISTS "${base}/${inc}")
            get_filename_component(target "${base}/${inc}" ABSOLUTE)
          endif()
        endforeach()
        if(target AND NOT target IN_LIST seen)
          if(NOT DEFINED _via_${target})
            set(_via_${target} "${_via_${file}} -> ${inc}")
          endif()
          list(APPEND queue "${target}")
        endif()
      endif()
    endforeach()
  endwhile()
endfunction()

# rr_check_layers(<source dir>): the project's layers (docs/ARCHITECTURE.md, "Boundaries"). The
# GUI sees value types only: no LibTorch, nn/, methods/ or the training loop's headers, also not
# through a core header. methods/, train/ and nn/ stay below the orchestration in run/.
function(rr_check_layers root)
  file(GLOB ui_files ${root}/ui/*.cpp ${root}/ui/*.h)
  rr_check_includes(NAME ui/ ROOT ${root} FILES ${ui_files}
    FORBID "^(torch|ATen|c10)/" "^(nn|methods)/" "^train/(loop|batch)\\.h$")
  file(GLOB lower_files ${root}/core/methods/*.* ${root}/core/train/*.* ${root}/core/nn/*.*
    ${root}/core/nn/hf/*.*)
  rr_check_includes(NAME "methods/, train/ and nn/" ROOT ${root} FILES ${lower_files}
    FORBID "^run/")
  # Architectures are named in their registry rows alone (core/nn/hf/arch.h): a model_type
  # compared as a string anywhere else is refused.
  file(GLOB_RECURSE sources ${root}/core/*.cpp ${root}/core/*.h ${root}/ui/*.cpp ${root}/ui/*.h
    ${root}/app/*.cpp ${root}/app/*.h ${root}/tools/*.cpp ${root}/tools/*.h)
  foreach(f IN LISTS sources)
    if(f MATCHES "/core/nn/hf/")
      continue()
    endif()
    file(STRINGS "${f}" hits REGEX
      "[=!]=[ \t]*\"(bert|electra|roberta|xlm-roberta|deberta-v2|modernbert|llama|qwen2|qwen3|gemma2)\"")
    if(hits)
      string(REPLACE "${root}/" "" rel "${f}")
      list(GET hits 0 first)
      string(STRIP "${first}" first)
      message(FATAL_ERROR "architectures: ${rel} compares a model_type as a string (${first}); "
                          "name it through core/nn/hf/arch.h (docs/ARCHITECTURE.md, \"Boundaries\").")
    endif()
  endforeach()
endfunction()
