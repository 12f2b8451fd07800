# Helpers that give every futexbox target the same warnings, sanitizers and install rules.

function(futexbox_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align)
  if(FUTEXBOX_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # Clang's thread-safety analysis of the FUTEXBOX_GUARDED_BY / REQUIRES annotations
  # (sync/thread_annotations.h); GCC has no such analysis and ignores the annotations.
  if(FUTEXBOX_THREAD_SAFETY AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    target_compile_options(${target} PRIVATE -Wthread-safety)
  endif()
  if(FUTEXBOX_SANITIZE)
    list(JOIN FUTEXBOX_SANITIZE "," sanitizers)
    target_compile_options(${target} PRIVATE -fsanitize=${sanitizers} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${sanitizers})
  endif()
endfunction()

# futexbox_library(<name> <folder> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Builds futexbox_<name>, aliases it futexbox::<name>, installs it and its folder's headers.
function(futexbox_library name folder)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(target futexbox_${name})
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(futexbox::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    # Installed consumers write <futexbox/sync/...>; futexbox's own headers include "sync/...".
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/futexbox>)
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  futexbox_target_defaults(${target})
  install(TARGETS ${target} EXPORT futexboxTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${folder}/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/futexbox/${folder}
          FILES_MATCHING PATTERN "*.h")
endfunction()
