# Flags every target of ours links privately: warnings, -Werror in CI, sanitizers.
add_library(rafs_settings INTERFACE)
target_compile_options(rafs_settings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual -Wpedantic -Wconversion
  -Wsign-conversion -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  # GCC 12 reports false -Wrestrict errors inside std::string at -O3 (GCC PR 105329).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
if(RAFS_WERROR)
  target_compile_options(rafs_settings INTERFACE -Werror)
endif()
if(RAFS_SANITIZE)
  target_compile_options(rafs_settings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(rafs_settings INTERFACE -fsanitize=address,undefined)
endif()
if(RAFS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RAFS_FUZZ needs clang's libFuzzer: configure with CC=clang CXX=clang++")
  endif()
  # Coverage for libFuzzer in everything; only the harnesses link its main.
  target_compile_options(rafs_settings INTERFACE -fsanitize=fuzzer-no-link,address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(rafs_settings INTERFACE -fsanitize=address,undefined)
endif()
target_compile_definitions(rafs_settings INTERFACE _FILE_OFFSET_BITS=64)
# Shared libraries nothing references are not loaded at start-up.
target_link_options(rafs_settings INTERFACE -Wl,--as-needed)
