# mosaic_add_plugin(<target> SOURCES <file>... [LIBRARIES <lib>...])
#
# Builds lib<target>.so, a plugin the Mosaic host can load: hidden
# visibility, a version script that exports only mosaic_plugin_entry_v1,
# the symbols of static dependencies kept inside, and (outside sanitizer
# builds) no undefined symbols left for load time.
function(mosaic_add_plugin target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "mosaic_add_plugin(${target}): SOURCES is required")
  endif()
  set(version_script "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/mosaic_plugin.map")
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE MosaicSDK::sdk ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS "${version_script}")
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${version_script}" "LINKER:--exclude-libs,ALL")
  if(NOT MOSAIC_SANITIZE AND NOT CMAKE_CXX_FLAGS MATCHES "sanitize")
    target_link_options(${target} PRIVATE "LINKER:-z,defs")
  endif()
endfunction()
