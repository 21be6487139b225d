# svckit_embed_assets(<target> <function> <dir> FILES <relative paths...>)
# Compiles the files under <dir> into <target> as byte arrays, with each file's path relative to
# <dir>, behind
#   std::span<const svckit::http::EmbeddedFile> svckit::embedded::<function>();
# (svckit/http/embedded.hpp serves them). Plain CMake at build time (cmake/embed_assets.cmake): no
# tool to install, and an edited file regenerates the source.
set(SVCKIT_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_assets.cmake)
function(svckit_embed_assets target function dir)
  cmake_parse_arguments(E "" "" "FILES" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${function}.cpp)
  set(deps)
  foreach(f IN LISTS E_FILES)
    list(APPEND deps ${dir}/${f})
  endforeach()
  string(REPLACE ";" "," files_arg "${E_FILES}")
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DDIR=${dir} -DFUNCTION=${function} -DFILES=${files_arg}
            -P ${SVCKIT_EMBED_SCRIPT}
    DEPENDS ${deps} ${SVCKIT_EMBED_SCRIPT}
    COMMENT "Embedding ${function}" VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
