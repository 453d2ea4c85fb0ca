# Linked privately by every target of ours, never by third-party code.
add_library(gsvs_warnings INTERFACE)
target_compile_options(gsvs_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
if(GSVS_WERROR)
  target_compile_options(gsvs_warnings INTERFACE -Werror)
endif()
