# Linked privately by every target of ours, never by third-party code.
add_library(gsvs_warnings INTERFACE)
target_compile_options(gsvs_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
if(GSVS_WERROR)
  target_compile_options(gsvs_warnings INTERFACE -Werror)
endif()
# A unity build (CMAKE_UNITY_BUILD, as scripts/test.sh builds) includes each .cpp into a batch
# file, and g++ 12 then takes the frame it synthesizes for a coroutine that holds a lambda or a
# type of the anonymous namespace for a class defined in a header (-Wsubobject-linkage). The
# warning guards headers included by several units against ODR breaks; a .cpp is included once.
if(CMAKE_UNITY_BUILD AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(gsvs_warnings INTERFACE -Wno-subobject-linkage)
endif()
